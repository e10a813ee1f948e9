//! Termination states in words (HAProxy configuration manual, 8.5).

/// What ended the session: the first character.
pub fn cause(c: u8) -> Option<&'static str> {
    Some(match c {
        b'C' => "the client aborted (closed or reset the connection)",
        b'S' => "the server aborted or refused the connection",
        b'P' => "HAProxy aborted it (a limit, a deny rule, a security check or an invalid message)",
        b'L' => "HAProxy answered itself (redirect, return, stats, cache, applet)",
        b'R' => "a resource ran out on the proxy (memory, sockets, source ports)",
        b'I' => "an internal error in HAProxy (a bug)",
        b'D' => "killed because the server was marked down",
        b'U' => "killed on a backup server because an active server came back up",
        b'K' => "killed by an administrator",
        b'c' => "the client-side timeout expired",
        b's' => "the server-side timeout expired",
        b'-' => "normal completion",
        _ => return None,
    })
}

/// What the session was doing then: the second character.
pub fn phase(c: u8) -> Option<&'static str> {
    Some(match c {
        b'R' => "while waiting for a complete request from the client",
        b'Q' => "while waiting in a queue for a server slot",
        b'C' => "while connecting to the server",
        b'H' => "while waiting for the response headers from the server",
        b'D' => "during the data transfer",
        b'L' => "while sending the last data to the client",
        b'T' => "while the request was tarpitted",
        b'-' => "after the end of the transfer",
        _ => return None,
    })
}

/// The usual reading of common states, with the status they come with.
fn common(state: [u8; 2]) -> Option<&'static str> {
    Some(match &state {
        b"--" => "normal completion",
        b"CC" => "the client aborted while HAProxy was connecting to the server",
        b"CD" => "the client aborted during the data transfer",
        b"cD" => {
            "client timeout during the data transfer (an idle client, or one too slow to read)"
        }
        b"CH" => "the client aborted while waiting for the response headers",
        b"CQ" => "the client aborted while queued for a server",
        b"CR" => "the client closed before sending a complete request (<BADREQ>, 400)",
        b"cR" => "the client did not send a complete request in time (timeout http-request, 408)",
        b"CT" => "the client aborted while tarpitted",
        b"LR" => "HAProxy answered the request itself (redirect, return, stats page)",
        b"LH" | b"LC" => "HAProxy produced the response itself",
        b"PC" => "HAProxy refused to connect: a connection or socket limit was reached",
        b"PD" => {
            "HAProxy aborted during the data transfer: invalid chunked data or a blocked response"
        }
        b"PH" => "HAProxy blocked the server's response: invalid or denied headers (502)",
        b"PR" => "HAProxy rejected the request: denied by a rule (403) or invalid (400)",
        b"PT" => "the request was tarpitted, then rejected (500)",
        b"RC" => "a resource ran out on the proxy while connecting (sockets, source ports)",
        b"SC" => "the server refused the connection, or no server was available (503)",
        b"sC" => "timeout connecting to the server (503/504)",
        b"SD" => "the server aborted during the data transfer",
        b"sD" => "server timeout during the data transfer",
        b"SH" => "the server aborted before sending complete response headers (502)",
        b"sH" => "the server did not send its response headers in time (timeout server, 504)",
        b"sQ" => "timeout waiting in the queue for a server slot (timeout queue, 503)",
        b"KD" => "killed by an administrator during the data transfer",
        b"DD" => "killed during the data transfer because the server was marked down",
        _ => return None,
    })
}

/// A termination state in words: the common reading when there is one,
/// else its two characters' meanings joined.
pub fn explain(state: [u8; 2]) -> String {
    if let Some(text) = common(state) {
        return text.to_string();
    }
    let first = cause(state[0]);
    let second = phase(state[1]);
    match (first, second) {
        (Some(a), Some(b)) => format!("{a}, {b}"),
        (Some(a), None) => format!("{a} (unknown phase `{}`)", state[1] as char),
        (None, Some(b)) => format!("unknown cause `{}`, {b}", char::from(state[0])),
        (None, None) => "not a termination state HAProxy writes".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_and_phase_is_explained() {
        for a in b"CSPLRIDUKcs-" {
            for b in b"RQCHDLT-" {
                let text = explain([*a, *b]);
                assert!(
                    !text.contains("unknown"),
                    "{}{}: {text}",
                    *a as char,
                    *b as char
                );
            }
        }
        assert_eq!(
            explain(*b"sQ"),
            "timeout waiting in the queue for a server slot (timeout queue, 503)"
        );
        assert_eq!(
            explain(*b"KQ"),
            "killed by an administrator, while waiting in a queue for a server slot"
        );
        assert!(explain(*b"X-").starts_with("unknown cause `X`"));
    }
}
