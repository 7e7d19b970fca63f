//! External-command handlers: a function written in any language, run as a process.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::Command;

use crate::function::{Context, FunctionError};

/// Runs `command_line` through the shell with the event on stdin. The process is killed
/// when the returned future is dropped (which is how a timeout stops it).
pub(crate) async fn run(command_line: &str, event: &Value, context: &Context) -> Result<Value, FunctionError> {
    let mut command = shell(command_line);
    command
        .env("FGS_REQUEST_ID", context.request_id())
        .env("FGS_FUNCTION_URN", context.function_urn())
        .env("FGS_FUNCTION_VERSION", context.version())
        .env("FGS_MEMORY_MB", context.memory_mb().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| FunctionError::new("CommandNotStarted", format!("cannot start `{command_line}`: {e}")))?;

    let input = event.to_string();
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    // Feed stdin and drain both pipes at once, so that a chatty process cannot block on
    // a full pipe while we wait for it.
    let write = async {
        if let Some(stdin) = stdin.as_mut() {
            // A process that exits without reading its input is not an error.
            let _ = stdin.write_all(input.as_bytes()).await;
            let _ = stdin.shutdown().await;
        }
        drop(stdin.take());
    };
    let read_out = async {
        let mut buffer = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let _ = out.read_to_end(&mut buffer).await;
        }
        buffer
    };
    let read_err = async {
        let mut buffer = Vec::new();
        if let Some(err) = stderr.as_mut() {
            let _ = err.read_to_end(&mut buffer).await;
        }
        buffer
    };
    let ((), out, err) = tokio::join!(write, read_out, read_err);
    let status = child
        .wait()
        .await
        .map_err(|e| FunctionError::new("CommandFailed", format!("cannot wait for `{command_line}`: {e}")))?;

    let err = String::from_utf8_lossy(&err);
    for line in err.lines() {
        context.log(line);
    }
    if !status.success() {
        let last_line = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        let message = match (status.code(), last_line.is_empty()) {
            (Some(code), true) => format!("`{command_line}` exited with status {code}"),
            (Some(code), false) => format!("`{command_line}` exited with status {code}: {last_line}"),
            (None, _) => format!("`{command_line}` was killed by a signal"),
        };
        let stack: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        return Err(FunctionError::new("CommandFailed", message).with_stack_trace(stack));
    }
    let out = String::from_utf8_lossy(&out);
    let text = out.trim();
    // JSON output is the value; anything else is returned as a string.
    Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
}

#[cfg(unix)]
fn shell(command_line: &str) -> Command {
    let mut command = Command::new("sh");
    command.arg("-c").arg(command_line);
    command
}

#[cfg(windows)]
fn shell(command_line: &str) -> Command {
    let mut command = Command::new("cmd");
    command.arg("/C").arg(command_line);
    command
}
