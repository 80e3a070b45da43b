//! `{number}` in a path: a licence number, parsed once by an extractor, so a handler receives
//! a `LicenceNumber` and no route parses (or forgets to parse) the raw string.

use super::error::ApiError;
use crate::domain::licence::LicenceNumber;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use std::future::{ready, Ready};

/// The pattern of `{number}` in the document (`NumberPath`, whose attribute takes a literal
/// only: a unit test holds the two equal, and to `LicenceNumber`'s bounds).
const NUMBER_PATTERN: &str = "^[0-9A-Za-z]{6,25}$";

/// `{number}`: a licence number (the holder's ID number). For the OpenAPI document only
/// (`params(NumberPath)`); handlers take [`LicencePath`].
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NumberPath {
    /// The licence number: 6 to 25 letters or digits.
    #[param(pattern = "^[0-9A-Za-z]{6,25}$")]
    pub number: String,
}

/// The licence number of the route's `{number}`; 400 `invalid_path` when it does not match
/// the documented pattern. Put it after the `BearerToken` argument: a caller without a
/// token hears 401 first, whatever the path.
#[derive(Debug, Clone)]
pub struct LicencePath(pub LicenceNumber);

impl FromRequest for LicencePath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get("number").unwrap_or_default();
        ready(parse_number(raw).map(LicencePath))
    }
}

/// A licence number from a path, exactly as the document's pattern says: unlike a registry
/// record's, no blanks around it (so `" 110101…"` is refused, not trimmed).
fn parse_number(raw: &str) -> Result<LicenceNumber, ApiError> {
    raw.bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then(|| LicenceNumber::parse(raw).ok())
        .flatten()
        .ok_or_else(|| ApiError::InvalidPath(format!("number must match {NUMBER_PATTERN}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::licence::{MAX_LEN, MIN_LEN};

    #[test]
    fn the_documented_number_pattern_is_the_one_parsed() {
        let pattern = format!("^[0-9A-Za-z]{{{MIN_LEN},{MAX_LEN}}}$");
        assert_eq!(NUMBER_PATTERN, pattern);
        let params = <NumberPath as utoipa::IntoParams>::into_params(|| None);
        let doc = serde_json::to_value(&params[0]).unwrap();
        assert_eq!(doc["schema"]["pattern"], pattern);
        let ok = "1".repeat(MAX_LEN);
        assert!(parse_number(&ok).is_ok());
        assert!(parse_number("11010119900101123x").is_ok());
        for refused in [
            &"1".repeat(MIN_LEN - 1),
            &"1".repeat(MAX_LEN + 1),
            " 1101011990",
            "1101-01",
        ] {
            assert!(parse_number(refused).is_err(), "{refused:?}");
        }
    }
}
