//! Conversions with the `ffmpeg` program (run with `tokio::process`, never through a shell):
//! voice notes to OGG/Opus, video to MP4/H.264 (+AAC). Input and output go through files in a
//! private work folder (MP4 needs a seekable output), removed when the conversion ends. The
//! duration comes from `ffprobe` beside it, when it is there.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::MediaError;

/// What to convert to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// OGG/Opus, mono, 48 kHz: a WhatsApp voice note.
    Voice,
    /// MP4, H.264 (yuv420p, even sizes) and AAC, fast start.
    Mp4,
    /// As [`Target::Mp4`], cropped to a square (round video notes).
    SquareMp4,
}

impl Target {
    fn extension(self) -> &'static str {
        match self {
            Target::Voice => "ogg",
            Target::Mp4 | Target::SquareMp4 => "mp4",
        }
    }

    fn args(self) -> Vec<&'static str> {
        const EVEN: &str = "scale=trunc(iw/2)*2:trunc(ih/2)*2";
        const SQUARE: &str = "crop=min(iw\\,ih):min(iw\\,ih),scale=trunc(iw/2)*2:trunc(ih/2)*2";
        let video = |filter: &'static str| {
            vec![
                "-map",
                "0:v:0",
                "-map",
                "0:a:0?",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "28",
                "-pix_fmt",
                "yuv420p",
                "-vf",
                filter,
                "-c:a",
                "aac",
                "-b:a",
                "96k",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
            ]
        };
        match self {
            Target::Voice => vec![
                "-vn",
                "-map_metadata",
                "-1",
                "-c:a",
                "libopus",
                "-b:a",
                "32k",
                "-ar",
                "48000",
                "-ac",
                "1",
                "-application",
                "voip",
                "-f",
                "ogg",
            ],
            Target::Mp4 => video(EVEN),
            Target::SquareMp4 => video(SQUARE),
        }
    }
}

/// The ffmpeg program as found at start-up.
#[derive(Clone, Debug)]
pub struct Ffmpeg {
    program: String,
    probe: String,
    available: bool,
    work_dir: PathBuf,
    timeout: Duration,
}

impl Ffmpeg {
    /// Looks for `program` (`ffmpeg -version`); conversions run in `work_dir`.
    pub async fn detect(program: &str, work_dir: PathBuf, timeout: Duration) -> Ffmpeg {
        let available = Command::new(program)
            .arg("-version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .status()
            .await
            .is_ok_and(|s| s.success());
        // `ffprobe` lives beside `ffmpeg`.
        let probe = match program.strip_suffix("ffmpeg") {
            Some(dir) => format!("{dir}ffprobe"),
            None => "ffprobe".to_string(),
        };
        Ffmpeg {
            program: program.to_string(),
            probe,
            available,
            work_dir,
            timeout,
        }
    }

    /// Whether ffmpeg was found.
    pub fn available(&self) -> bool {
        self.available
    }

    /// Converts `input` to `target`; answers the bytes and, when ffprobe tells, whole seconds.
    pub(super) async fn convert(
        &self,
        input: &[u8],
        target: Target,
    ) -> Result<(Vec<u8>, Option<u32>), MediaError> {
        if !self.available {
            return Err(MediaError::FfmpegMissing);
        }
        tokio::fs::create_dir_all(&self.work_dir).await?;
        let stem = format!("convert-{}", ulid::Ulid::generate());
        let src = Scratch(self.work_dir.join(format!("{stem}.in")));
        let out = Scratch(self.work_dir.join(format!("{stem}.{}", target.extension())));
        tokio::fs::write(&src.0, input).await?;
        let mut cmd = Command::new(&self.program);
        cmd.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i"])
            .arg(&src.0)
            .args(target.args())
            .arg(&out.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let run = tokio::time::timeout(self.timeout, cmd.output()).await;
        let output = match run {
            Err(_) => return Err(MediaError::Convert("the conversion took too long".into())),
            Ok(Err(e)) => return Err(MediaError::Internal(format!("cannot run ffmpeg: {e}"))),
            Ok(Ok(output)) => output,
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            tracing::debug!(stderr = %stderr.trim(), "ffmpeg failed");
            return Err(MediaError::Convert(
                "ffmpeg could not read it as audio or video".into(),
            ));
        }
        let bytes = tokio::fs::read(&out.0).await?;
        let seconds = self.duration(&out.0).await;
        Ok((bytes, seconds))
    }

    /// Whole seconds of `file` (rounded up), by ffprobe; `None` when it cannot tell.
    async fn duration(&self, file: &Path) -> Option<u32> {
        let output = Command::new(&self.probe)
            .args([
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "csv=p=0",
            ])
            .arg(file)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(10), output)
            .await
            .ok()?
            .ok()?;
        let secs: f64 = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .ok()?;
        (secs.is_finite() && secs >= 0.0).then(|| secs.ceil() as u32)
    }
}

/// A scratch file, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_program_is_reported_not_fatal() {
        let dir = tempfile::tempdir().expect("dir");
        let ff = Ffmpeg::detect(
            "/nonexistent/ffmpeg",
            dir.path().to_path_buf(),
            Duration::from_secs(5),
        )
        .await;
        assert!(!ff.available());
        assert!(matches!(
            ff.convert(b"x", Target::Voice).await,
            Err(MediaError::FfmpegMissing)
        ));
    }
}
