//! gRPC status codes under the names ghz prints (grpc-go's `codes.Code`
//! strings), which differ from tonic's Debug names (`Cancelled`, `Ok`).

use tonic::Code;

/// The name grpc-go gives a code: `OK`, `Canceled`, `DeadlineExceeded`, ...
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// Reads a code from its grpc-go name, its snake_case or UPPER_CASE form
/// (`deadline_exceeded`, `UNAVAILABLE`) or its number.
pub fn parse_code(text: &str) -> Option<Code> {
    if let Ok(number) = text.parse::<i32>() {
        return (0..=16).contains(&number).then(|| Code::from(number));
    }
    let folded: String = text
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    let folded = if folded == "cancelled" {
        "canceled"
    } else {
        &folded
    };
    (0..=16)
        .map(Code::from)
        .find(|code| code_name(*code).eq_ignore_ascii_case(folded))
}

/// grpc-go's error text, the key of ghz's error distribution.
pub fn error_text(code: Code, message: &str) -> String {
    format!("rpc error: code = {} desc = {}", code_name(code), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for number in 0..=16 {
            let code = Code::from(number);
            assert_eq!(parse_code(code_name(code)), Some(code));
            assert_eq!(parse_code(&number.to_string()), Some(code));
        }
        assert_eq!(
            parse_code("deadline_exceeded"),
            Some(Code::DeadlineExceeded)
        );
        assert_eq!(parse_code("CANCELLED"), Some(Code::Cancelled));
        assert_eq!(parse_code("UNAVAILABLE"), Some(Code::Unavailable));
        assert_eq!(parse_code("17"), None);
        assert_eq!(parse_code("nope"), None);
    }

    #[test]
    fn error_text_is_grpc_go_s() {
        assert_eq!(
            error_text(Code::Unavailable, "injected failure"),
            "rpc error: code = Unavailable desc = injected failure"
        );
    }
}
