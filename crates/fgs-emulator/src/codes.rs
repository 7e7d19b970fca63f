//! Every error response the emulator sends on its own (not by fault injection), in one
//! place: its code from the generated catalogue, its HTTP status, and whether the function
//! ran before it was sent. A test checks each against the catalogue.

use fgs_core::generated::error_codes::ErrorCode;
use http::StatusCode;

/// One error the emulator can send.
#[derive(Debug)]
pub(crate) struct SentError {
    /// `error_code`, from the catalogue generated from the spec.
    pub(crate) code: ErrorCode,
    /// The HTTP status it is sent with.
    pub(crate) status: StatusCode,
    /// Whether it is sent after the function ran (else the function did not run). Read by
    /// the test against the catalogue.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) after_run: bool,
}

impl SentError {
    /// Whether it is the API gateway's (`APIGW.*`: `X-Request-Id` and `request_id` in the
    /// body) rather than FunctionGraph's (`FSS.*`: `X-Cff-Request-Id`).
    pub(crate) fn is_gateway(&self) -> bool {
        is_gateway_code(self.code.as_str())
    }
}

/// Whether `code` is the API gateway's rather than FunctionGraph's: its family (the part
/// before the dot) is that of the gateway's `ApiNotFound` in the generated catalogue.
pub(crate) fn is_gateway_code(code: &str) -> bool {
    let gateway = ErrorCode::ApiNotFound
        .entries()
        .first()
        .map_or("", |info| family(info.code));
    code.contains('.') && family(code) == gateway
}

/// The part of an error code before the dot: `FSS` or `APIGW`.
fn family(code: &str) -> &str {
    code.split_once('.').map_or(code, |(family, _)| family)
}

macro_rules! sent_errors {
    ($($(#[$doc:meta])* $name:ident = $code:ident, $status:ident, $after_run:expr;)*) => {
        $(
            $(#[$doc])*
            pub(crate) static $name: SentError = SentError {
                code: ErrorCode::$code,
                status: StatusCode::$status,
                after_run: $after_run,
            };
        )*
        /// Every error above.
        #[cfg(test)]
        pub(crate) static ALL: &[&SentError] = &[$(&$name),*];
    };
}

sent_errors! {
    /// No such route.
    API_NOT_FOUND = ApiNotFound, NOT_FOUND, false;
    /// Missing, unknown or wrong credentials.
    INCORRECT_AUTHENTICATION = IncorrectAuthentication, UNAUTHORIZED, false;
    /// `X-Sdk-Date` more than 15 minutes off.
    SIGNATURE_EXPIRED = SignatureExpired, UNAUTHORIZED, false;
    /// An expired token.
    TOKEN_EXPIRED = TokenExpired, UNAUTHORIZED, false;
    /// The request body is over the limit.
    BODY_TOO_LARGE = RequestBodyTooLarge, PAYLOAD_TOO_LARGE, false;
    /// The request body could not be read (broken, or not sent in time), or a header or
    /// the path is wrong.
    INVALID_PARAMETER = InvalidParameter, BAD_REQUEST, false;
    /// The URN does not parse.
    INVALID_URN = InvalidFunctionUrn, BAD_REQUEST, false;
    /// The project is not the emulator's.
    FORBIDDEN = Forbidden, FORBIDDEN, false;
    /// `X-Cff-Instance-Memory` is not a memory size.
    INVALID_MEMORY = InvalidFunctionMemory, BAD_REQUEST, false;
    /// No such function.
    FUNCTION_NOT_FOUND = FunctionNotFound, NOT_FOUND, false;
    /// No such version.
    VERSION_NOT_FOUND = VersionNotFound, NOT_FOUND, false;
    /// No such alias.
    ALIAS_NOT_FOUND = AliasNotFound, NOT_FOUND, false;
    /// The event is not JSON.
    NOT_ACCEPTABLE = NotAcceptable, NOT_ACCEPTABLE, false;
    /// The function's concurrency limit is reached.
    TOO_MANY_REQUESTS = TooManyRequests, TOO_MANY_REQUESTS, false;
    /// The run's task was lost (it panicked outside the handler).
    RUN_LOST = InternalServerError, INTERNAL_SERVER_ERROR, true;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn every_error_the_emulator_sends_is_in_the_catalogue_with_its_status_and_execution_flag() {
        assert!(!ALL.is_empty());
        for sent in ALL {
            let code = sent.code.as_str();
            assert!(
                !matches!(sent.code, ErrorCode::Unknown(_)),
                "{code} is not in the generated catalogue"
            );
            let info = sent
                .code
                .info(sent.status.as_u16())
                .unwrap_or_else(|| panic!("the catalogue does not pair {code} with {}", sent.status));
            assert_eq!(info.code, code);
            assert_eq!(u16::from(sent.status), info.status);
            assert_eq!(
                info.not_executed, !sent.after_run,
                "{code} {}: the catalogue's not_executed must say whether the emulator ran the function",
                sent.status
            );
            // The code and status round-trip through the wire form.
            assert_eq!(ErrorCode::from(code), sent.code);
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_406() {
        // The wire code itself is checked by tests/invoke.rs, against a literal.
        assert_eq!(NOT_ACCEPTABLE.code, ErrorCode::NotAcceptable);
        assert_eq!(NOT_ACCEPTABLE.status, StatusCode::NOT_ACCEPTABLE);
    }

    #[test]
    fn gateway_codes_are_told_from_service_codes_by_family() {
        let gateway = [
            ErrorCode::ApiNotFound,
            ErrorCode::IncorrectAuthentication,
            ErrorCode::TokenExpired,
        ];
        for code in gateway {
            assert!(is_gateway_code(code.as_str()), "{code}");
        }
        let service = [
            ErrorCode::InvalidParameter,
            ErrorCode::FunctionNotFound,
            ErrorCode::TooManyRequests,
        ];
        for code in service {
            assert!(!is_gateway_code(code.as_str()), "{code}");
        }
        let gateway_family = family(ErrorCode::ApiNotFound.as_str());
        assert!(!is_gateway_code(gateway_family), "a family without a number is no code");
        assert!(is_gateway_code(&format!("{gateway_family}.9999")));
    }
}
