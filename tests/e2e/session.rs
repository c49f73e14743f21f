//! Session lifecycle stories (issue 3): link by QR and by code, stop/start, server restart, logout,
//! unlink from the phone, delete.

use crate::support::TestEnv;

#[tokio::test]
async fn qr_link_reaches_working_and_me_shows_the_phone() {
    let env = TestEnv::start().await;
    let phone = env.phone("12015550111", "Alice").await;
    let id = env.create_instance().await;
    let info = env.wait_status(&id, "SCAN_QR_CODE").await;
    assert!(info["me"].is_null(), "not linked yet: {info}");

    let qr = env.qr_value(&id).await;
    assert_eq!(
        qr.split(',').count(),
        5,
        "QR has the five fields a phone scans: {qr}"
    );
    let image = env
        .call("GET", "/v2/auth/qr-image", &[("instance_id", &id)])
        .await;
    image.assert_status(200);
    assert!(
        image.json["qr"]
            .as_str()
            .is_some_and(|q| q.starts_with("data:image/png;base64,"))
    );

    env.fakewa.scan_qr(&phone, &qr).await.expect("phone scans");
    let info = env.wait_status(&id, "WORKING").await;
    assert_eq!(info["me"]["id"], "12015550111@c.us", "{info}");

    let me = env
        .call("GET", "/v2/session/me", &[("instance_id", &id)])
        .await;
    me.assert_status(200);
    assert_eq!(me.json["id"], "12015550111@c.us");
    assert!(
        me.json["lid"].as_str().is_some_and(|l| l.ends_with("@lid")),
        "{}",
        me.text
    );

    // Linked: asking for a QR code or a pairing code is a state error.
    let qr = env
        .call("GET", "/v2/auth/qr", &[("instance_id", &id)])
        .await;
    qr.assert_error(422, "session_unexpected_status");
    assert_eq!(qr.json["details"]["status"], "WORKING");
    let code = env
        .call(
            "POST",
            "/v2/auth/request-code",
            &[("instance_id", &id), ("phone_number", "12015550111")],
        )
        .await;
    code.assert_error(422, "session_unexpected_status");
}

#[tokio::test]
async fn pairing_code_links_the_session() {
    let env = TestEnv::start().await;
    let phone = env.phone("12015550122", "Bob").await;
    let id = env.create_instance().await;
    env.wait_status(&id, "SCAN_QR_CODE").await;

    let res = env
        .call(
            "POST",
            "/v2/auth/request-code",
            &[("instance_id", &id), ("phone_number", "+1 201-555-0122")],
        )
        .await;
    res.assert_status(200);
    let code = res.json["code"].as_str().expect("code").to_string();
    assert!(
        code.len() == 9 && code.as_bytes()[4] == b'-',
        "formatted ABCD-1234: {code}"
    );

    env.fakewa
        .enter_link_code(&phone, &code)
        .await
        .expect("phone enters the code");
    let info = env.wait_status(&id, "WORKING").await;
    assert_eq!(info["me"]["id"], "12015550122@c.us");
}

#[tokio::test]
async fn stop_and_start_keep_the_link() {
    let env = TestEnv::start().await;
    let phone = env.phone("12015550133", "Carol").await;
    let id = env.linked_instance(&phone).await;

    let res = env
        .call("POST", "/v2/session/stop", &[("instance_id", &id)])
        .await;
    res.assert_status(200);
    assert_eq!(res.json["status"], "STOPPED");
    let info = env.wait_status(&id, "STOPPED").await;
    assert_eq!(
        info["me"]["id"], "12015550133@c.us",
        "the link is remembered while stopped"
    );

    let res = env
        .call("POST", "/v2/session/start", &[("instance_id", &id)])
        .await;
    res.assert_status(200);
    env.wait_status(&id, "WORKING").await;
}

#[tokio::test]
async fn a_server_restart_restores_working_sessions_without_a_qr() {
    let mut env = TestEnv::start().await;
    let phone = env.phone("12015550144", "Dan").await;
    let id = env.linked_instance(&phone).await;

    env.restart_wawp().await;
    env.wait_status(&id, "WORKING").await;
}

#[tokio::test]
async fn logout_from_the_api_goes_back_to_scan_qr_code() {
    let env = TestEnv::start().await;
    let phone = env.phone("12015550155", "Eve").await;
    let id = env.linked_instance(&phone).await;

    let res = env
        .call("POST", "/v2/session/logout", &[("instance_id", &id)])
        .await;
    res.assert_status(200);
    let info = env.wait_status(&id, "SCAN_QR_CODE").await;
    assert!(info["me"].is_null(), "the account is forgotten: {info}");
    // A fresh QR code can link it again.
    let qr = env.qr_value(&id).await;
    env.fakewa.scan_qr(&phone, &qr).await.expect("scan again");
    env.wait_status(&id, "WORKING").await;
}

#[tokio::test]
async fn unlinking_from_the_phone_goes_back_to_scan_qr_code() {
    let env = TestEnv::start().await;
    let phone = env.phone("12015550166", "Frank").await;
    let id = env.linked_instance(&phone).await;

    env.fakewa.unlink(&phone).await.expect("phone unlinks");
    let info = env.wait_status(&id, "SCAN_QR_CODE").await;
    assert!(info["me"].is_null(), "{info}");
}

#[tokio::test]
async fn delete_removes_the_session_and_its_keys() {
    let env = TestEnv::start().await;
    let phone = env.phone("12015550177", "Grace").await;
    let id = env.linked_instance(&phone).await;
    let keys = env.wawp.data_dir.join("whatsapp").join(format!("{id}.db"));
    assert!(keys.exists(), "keys stored at {}", keys.display());

    let res = env
        .call("DELETE", "/v2/session/delete", &[("instance_id", &id)])
        .await;
    res.assert_status(200);
    assert!(!keys.exists(), "keys erased");
    env.call("POST", "/v2/session/info", &[("instance_id", &id)])
        .await
        .assert_error(404, "invalid_session");
    env.call("POST", "/v2/session/start", &[("instance_id", &id)])
        .await
        .assert_error(404, "invalid_session");
}
