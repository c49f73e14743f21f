use super::*;

#[test]
fn accepted_forms_normalize_to_c_us() {
    let ok = |raw: &str| {
        ChatId::parse(raw)
            .map(|c| c.as_str().to_string())
            .map_err(|e| e.message)
    };
    assert_eq!(ok("201012345678").as_deref(), Ok("201012345678@c.us"));
    assert_eq!(ok("+20 101 234 5678").as_deref(), Ok("201012345678@c.us"));
    assert_eq!(ok("201012345678@c.us").as_deref(), Ok("201012345678@c.us"));
    assert_eq!(
        ok("201012345678@s.whatsapp.net").as_deref(),
        Ok("201012345678@c.us")
    );
    assert_eq!(
        ok("201012345678:12@s.whatsapp.net").as_deref(),
        Ok("201012345678@c.us")
    );
    assert_eq!(
        ok("123456789012345@lid").as_deref(),
        Ok("123456789012345@lid")
    );
    assert_eq!(
        ok("120363025246125888@g.us").as_deref(),
        Ok("120363025246125888@g.us")
    );
    assert_eq!(
        ok("201012345678-1600000000@g.us").as_deref(),
        Ok("201012345678-1600000000@g.us")
    );
    assert_eq!(
        ok("120363025246125888@newsletter").as_deref(),
        Ok("120363025246125888@newsletter")
    );
    assert_eq!(ok("status@broadcast").as_deref(), Ok("status@broadcast"));
    assert_eq!(ok("447441429009").as_deref(), Ok("447441429009@c.us"));
    assert_eq!(ok("966501234567").as_deref(), Ok("966501234567@c.us"));
}

#[test]
fn garbage_is_invalid_chat_id() {
    for bad in ["", "hello", "abc@c.us", "1@unknown", "x@broadcast", "@g.us"] {
        let err = ChatId::parse(bad).expect_err(bad);
        assert_eq!(err.code, Code::InvalidChatId, "{bad}");
    }
}

// Wawp: send/text, 400 invalid_chat_id (Egypt).
#[test]
fn egypt_example_matches_the_documents() {
    let err = ChatId::parse("20114520282").expect_err("too short");
    assert_eq!(err.code, Code::InvalidChatId);
    assert_eq!(
        err.message,
        "Egypt mobile numbers must be 11 digits (national format)."
    );
    assert_eq!(
        Value::Object(err.details),
        json!({"provided":"20114520282","recommendation":"Example: 201012345678 (12 digits total starting with 20)",
            "info":{"country":"EG","type":"MOBILE"}})
    );
}

// Wawp: send/text, 400 invalid_chat_id (Saudi Arabia).
#[test]
fn saudi_example_matches_the_documents() {
    let err = ChatId::parse("96655555").expect_err("too short");
    assert_eq!(err.message, "Invalid phone number format for SA.");
    assert_eq!(
        Value::Object(err.details),
        json!({"provided":"96655555","recommendation":"Saudi numbers must start with 966 followed by 5 and 8 digits (12 digits total). Example: 966501234567",
            "info":{"country":"SA"}})
    );
}

// Wawp: send/text, 400 invalid_chat_id (national format, no country code).
#[test]
fn national_format_is_unknown_country() {
    let err = ChatId::parse("01145202826").expect_err("national");
    assert_eq!(err.message, "Invalid phone number format for Unknown.");
    assert_eq!(
        Value::Object(err.details),
        json!({"provided":"01145202826","recommendation":"Ensure individual numbers are in international format (starting with country code).",
            "info":{"country":"Unknown"}})
    );
}

#[test]
fn chat_id_errors_survive_serde() {
    #[derive(Debug, Deserialize)]
    struct P {
        #[serde(rename = "chatId")]
        _chat_id: ChatId,
    }
    let err =
        crate::extract::coerce::from_value::<P>(json!({"chatId":"20114520282"})).expect_err("bad");
    let api = from_marker(&err.message).expect("carried");
    assert_eq!(api.code, Code::InvalidChatId);
    assert_eq!(api.details["info"]["country"], "EG");
}
