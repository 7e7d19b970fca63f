//! The event to send: from `--data`, a file, or stdin; checked to be JSON and within the
//! service's size limit before anything is sent.

use std::fs::File;
use std::io::{self, Read};

use bytes::Bytes;
use fgs::generated::operations::{AsyncInvokeFunction, InvokeFunction};
use fgs::protocol::Operation;

/// What is sent when no event is given.
const EMPTY_EVENT: &[u8] = b"{}";

/// The largest event of a synchronous invoke (6 MiB), as the API description says
/// (`x-max-body-bytes`, generated into the operation's `INFO`); no limit if it names none,
/// as in the client.
pub(crate) fn sync_limit() -> u64 {
    <InvokeFunction as Operation>::INFO.max_body_bytes.unwrap_or(u64::MAX)
}

/// The largest event of an asynchronous invoke (256 KiB), from the same place.
pub(crate) fn async_limit() -> u64 {
    <AsyncInvokeFunction as Operation>::INFO
        .max_body_bytes
        .unwrap_or(u64::MAX)
}

/// Where the event comes from.
pub(crate) struct Stdin<'a> {
    /// The stream.
    pub reader: &'a mut dyn Read,
    /// Whether it is a terminal (then it is read only for `--data @-`).
    pub is_terminal: bool,
}

/// Reads the event: `--data JSON`, `--data @FILE`, `--data @-` (stdin), else stdin when it
/// is not a terminal, else `{}`. An empty stdin also means `{}`. Errors are messages for a
/// usage error: nothing has been sent.
pub(crate) fn read(data: Option<&str>, limit: u64, invoke: &str, stdin: Stdin<'_>) -> Result<Bytes, String> {
    let (bytes, source) = match data {
        Some("@-") => (read_limited(stdin.reader, limit, "stdin", invoke)?, "stdin".to_owned()),
        Some(data) => match data.strip_prefix('@') {
            Some(path) => {
                let source = format!("file {path}");
                let file = File::open(path).map_err(|e| format!("cannot read the --data file {path}: {e}"))?;
                if let Ok(metadata) = file.metadata() {
                    check_size(metadata.len(), limit, &source, invoke)?;
                }
                let mut file = file;
                (read_limited(&mut file, limit, &source, invoke)?, source)
            }
            None => {
                check_size(data.len() as u64, limit, "--data", invoke)?;
                (data.as_bytes().to_vec(), "--data".to_owned())
            }
        },
        None if stdin.is_terminal => return Ok(Bytes::from_static(EMPTY_EVENT)),
        None => {
            let bytes = read_limited(stdin.reader, limit, "stdin", invoke)?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(Bytes::from_static(EMPTY_EVENT));
            }
            (bytes, "stdin".to_owned())
        }
    };
    if let Err(error) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        return Err(format!("the payload from {source} is not valid JSON: {error}"));
    }
    Ok(Bytes::from(bytes))
}

/// Reads at most `limit` bytes, and fails if there are more.
fn read_limited(reader: &mut dyn Read, limit: u64, source: &str, invoke: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e: io::Error| format!("cannot read the payload from {source}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "the payload from {source} is more than {limit} bytes, the most {invoke} accepts ({})",
            human(limit)
        ));
    }
    Ok(bytes)
}

fn check_size(size: u64, limit: u64, source: &str, invoke: &str) -> Result<(), String> {
    if size > limit {
        return Err(format!(
            "the payload from {source} is {size} bytes, but {invoke} accepts at most {limit} bytes ({})",
            human(limit)
        ));
    }
    Ok(())
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(data: Option<&str>, stdin: &[u8], is_terminal: bool) -> Result<Bytes, String> {
        let mut reader = stdin;
        read(
            data,
            sync_limit(),
            "a synchronous invoke",
            Stdin {
                reader: &mut reader,
                is_terminal,
            },
        )
    }

    #[test]
    fn the_limits_are_the_services() {
        assert_eq!(sync_limit(), 6 * 1024 * 1024);
        assert_eq!(async_limit(), 256 * 1024);
        assert_eq!(human(sync_limit()), "6 MiB");
        assert_eq!(human(async_limit()), "256 KiB");
        assert_eq!(human(1000), "1000 bytes");
    }

    #[test]
    fn sources_in_order() {
        assert_eq!(from(Some(r#"{"a":1}"#), b"{}", false).unwrap(), &br#"{"a":1}"#[..]);
        assert_eq!(from(None, br#"{"b":2}"#, false).unwrap(), &br#"{"b":2}"#[..]);
        assert_eq!(
            from(None, br#"{"b":2}"#, true).unwrap(),
            &b"{}"[..],
            "a terminal is not read"
        );
        assert_eq!(from(Some("@-"), b"[1]", true).unwrap(), &b"[1]"[..]);
        assert_eq!(from(None, b" \n", false).unwrap(), &b"{}"[..], "empty stdin");
    }

    #[test]
    fn the_payload_is_sent_as_given() {
        let text = "{ \"a\" : [1, 2] }\n";
        assert_eq!(from(Some(text), b"", true).unwrap(), text.as_bytes());
    }

    #[test]
    fn invalid_json_and_unreadable_files_are_refused() {
        let err = from(Some("{nope"), b"", true).unwrap_err();
        assert!(
            err.contains("--data is not valid JSON") && err.contains("line 1"),
            "{err}"
        );
        let err = from(None, b"{", false).unwrap_err();
        assert!(err.contains("stdin is not valid JSON"), "{err}");
        let err = from(Some("@/nonexistent/event.json"), b"", true).unwrap_err();
        assert!(
            err.contains("cannot read the --data file /nonexistent/event.json"),
            "{err}"
        );
        assert!(from(Some(""), b"", true).is_err());
    }

    #[test]
    fn payloads_over_the_limit_are_refused() {
        let mut big = vec![b' '; 300 * 1024];
        big.extend_from_slice(b"{}");
        let mut reader = &big[..];
        let err = read(
            None,
            async_limit(),
            "an asynchronous invoke",
            Stdin {
                reader: &mut reader,
                is_terminal: false,
            },
        )
        .unwrap_err();
        assert!(
            err.contains("more than 262144 bytes") && err.contains("256 KiB"),
            "{err}"
        );
        let text = String::from_utf8(big).unwrap();
        let err = read(
            Some(&text),
            async_limit(),
            "an asynchronous invoke",
            Stdin {
                reader: &mut &b""[..],
                is_terminal: true,
            },
        )
        .unwrap_err();
        assert!(err.contains("is 307202 bytes"), "{err}");
    }
}
