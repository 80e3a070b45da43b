//! The registry record: the wire format the registry feed sends (NDJSON lines, admin PUT) and
//! its validation into a `Licence`. Field names are a contract with the registry feed.

use super::licence::{Licence, LicenceNumber, Sex};
use super::licence_class::{ClassSet, LicenceClass};
use super::registry_state::RegistryState;
use base64::Engine;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One licence as the registry sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryRecord {
    #[schema(example = "110101199001011234")]
    pub number: String,
    #[schema(example = "张伟")]
    pub name: String,
    /// "M" or "F".
    #[schema(example = "M")]
    pub sex: String,
    /// ISO 3166-1 alpha-3.
    #[schema(example = "CHN")]
    pub nationality: String,
    pub birth_date: NaiveDate,
    pub address: String,
    pub issuing_authority: String,
    #[schema(example = json!(["C1", "D"]))]
    pub classes: Vec<String>,
    pub first_issued: NaiveDate,
    pub valid_from: NaiveDate,
    /// `null` means long-term validity (长期).
    pub valid_until: Option<NaiveDate>,
    /// Registry state codes, e.g. "suspended".
    pub statuses: Vec<String>,
    pub points: i64,
    pub points_cycle_start: NaiveDate,
    pub medical_due: Option<NaiveDate>,
    pub review_due: Option<NaiveDate>,
    /// Base64 JPEG or PNG: the photo on file.
    pub photo: Option<String>,
    pub photo_taken: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoFormat {
    Jpeg,
    Png,
}

impl PhotoFormat {
    /// Detects the format from the leading bytes, never from a name or a declared type.
    pub fn sniff(bytes: &[u8]) -> Option<PhotoFormat> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(PhotoFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(PhotoFormat::Png)
        } else {
            None
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
        }
    }
}

/// The photo the registry holds for a licence (已留存照片).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryPhoto {
    pub bytes: Vec<u8>,
    pub format: PhotoFormat,
    pub taken: Option<NaiveDate>,
    /// The photo made ready for an e-licence when it arrived (`crate::photo::prepare`), so
    /// issuance never decodes it on its hot path; `None` until then.
    pub prepared: Option<PreparedPhoto>,
}

/// A photo on file normalised and pre-checked ahead of use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedPhoto {
    /// SHA-256 (base64url) of `jpeg`; empty when the photo could not be read.
    pub sha256: String,
    /// The normalised 330×480 JPEG; empty when the photo could not be read.
    pub jpeg: Vec<u8>,
    /// The pre-checks it fails (`unreadable` if it could not be decoded); empty: usable.
    pub failed_checks: Vec<&'static str>,
}

/// A photo on file may be at most this large once decoded from base64.
pub const MAX_REGISTRY_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// A record that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRecord {
    pub licence: Licence,
    pub photo: Option<RegistryPhoto>,
}

/// Why one field of a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: &'static str,
    /// Stable machine code: `invalid_format`, `unknown_code`, `duplicate`, `out_of_range`,
    /// `inconsistent`, `too_long`, `required`.
    pub code: &'static str,
    pub message: String,
}

pub(crate) fn err(
    field: &'static str,
    code: &'static str,
    message: impl Into<String>,
) -> FieldError {
    FieldError {
        field,
        code,
        message: message.into(),
    }
}

pub(crate) fn text(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(err(field, "required", format!("{field} must not be empty")));
    } else if v.chars().count() > max_chars {
        errors.push(err(
            field,
            "too_long",
            format!("{field} is longer than {max_chars} characters"),
        ));
    } else if v.chars().any(char::is_control) {
        errors.push(err(
            field,
            "invalid_format",
            format!("{field} contains control characters"),
        ));
    }
    v.to_owned()
}

/// The class codes as a set: each unknown or repeated code is reported, and an empty list.
pub(crate) fn classes(errors: &mut Vec<FieldError>, codes: &[String]) -> Option<ClassSet> {
    let mut classes = Vec::new();
    for code in codes {
        match code.parse::<LicenceClass>() {
            Ok(c) if classes.contains(&c) => errors.push(err(
                "classes",
                "duplicate",
                format!("class {c} is listed twice"),
            )),
            Ok(c) => classes.push(c),
            Err(e) => errors.push(err("classes", "unknown_code", e.to_string())),
        }
    }
    if codes.is_empty() {
        errors.push(err(
            "classes",
            "required",
            "a licence has at least one class",
        ));
    }
    ClassSet::new(classes)
}

impl RegistryRecord {
    /// Checks every field and reports every problem, not just the first.
    pub fn validate(&self) -> Result<ValidRecord, Vec<FieldError>> {
        let mut errors = Vec::new();

        let number = LicenceNumber::parse(&self.number)
            .map_err(|e| errors.push(err("number", "invalid_format", e.to_string())))
            .ok();
        let name = text(&mut errors, "name", &self.name, 64);
        let sex = Sex::parse(&self.sex);
        if sex.is_none() {
            errors.push(err("sex", "unknown_code", "sex is \"M\" or \"F\""));
        }
        let nationality = self.nationality.trim();
        if !(nationality.len() == 3 && nationality.bytes().all(|b| b.is_ascii_uppercase())) {
            errors.push(err(
                "nationality",
                "invalid_format",
                "nationality is an ISO 3166-1 alpha-3 code such as \"CHN\"",
            ));
        }
        let address = text(&mut errors, "address", &self.address, 256);
        let issuing_authority = text(
            &mut errors,
            "issuing_authority",
            &self.issuing_authority,
            128,
        );

        let classes = classes(&mut errors, &self.classes);

        let mut states = Vec::new();
        for code in &self.statuses {
            match code.parse::<RegistryState>() {
                Ok(s) if states.contains(&s) => errors.push(err(
                    "statuses",
                    "duplicate",
                    format!("state {code} is listed twice"),
                )),
                Ok(s) => states.push(s),
                Err(e) => errors.push(err("statuses", "unknown_code", e.to_string())),
            }
        }
        states.sort();

        if self.birth_date >= self.first_issued {
            errors.push(err(
                "first_issued",
                "inconsistent",
                "first_issued must be after birth_date",
            ));
        }
        if self.first_issued > self.valid_from {
            errors.push(err(
                "valid_from",
                "inconsistent",
                "valid_from must not be before first_issued",
            ));
        }
        if let Some(until) = self.valid_until {
            if until <= self.valid_from {
                errors.push(err(
                    "valid_until",
                    "inconsistent",
                    "valid_until must be after valid_from",
                ));
            }
        }
        let points = u8::try_from(self.points).ok().filter(|p| *p <= 99);
        if points.is_none() {
            errors.push(err("points", "out_of_range", "points are between 0 and 99"));
        }
        if self.points_cycle_start < self.first_issued {
            errors.push(err(
                "points_cycle_start",
                "inconsistent",
                "the scoring cycle cannot start before first_issued",
            ));
        }

        let photo = self
            .photo
            .as_deref()
            .and_then(|b64| match decode_photo(b64) {
                Ok((bytes, format)) => Some(RegistryPhoto {
                    prepared: None,
                    bytes,
                    format,
                    taken: self.photo_taken,
                }),
                Err(e) => {
                    errors.push(e);
                    None
                }
            });
        if self.photo.is_none() && self.photo_taken.is_some() {
            errors.push(err(
                "photo_taken",
                "inconsistent",
                "photo_taken is set but there is no photo",
            ));
        }

        match (number, sex, classes, points) {
            (Some(number), Some(sex), Some(classes), Some(points)) if errors.is_empty() => {
                Ok(ValidRecord {
                    licence: Licence {
                        number,
                        name,
                        sex,
                        nationality: nationality.to_owned(),
                        birth_date: self.birth_date,
                        address,
                        issuing_authority,
                        classes,
                        first_issued: self.first_issued,
                        valid_from: self.valid_from,
                        valid_until: self.valid_until,
                        states,
                        points,
                        points_cycle_start: self.points_cycle_start,
                        medical_due: self.medical_due,
                        review_due: self.review_due,
                    },
                    photo,
                })
            }
            _ => Err(errors),
        }
    }

    /// The record form of a stored licence, for the admin API.
    pub fn from_licence(licence: &Licence, photo: Option<&RegistryPhoto>) -> RegistryRecord {
        RegistryRecord {
            number: licence.number.as_str().to_owned(),
            name: licence.name.clone(),
            sex: licence.sex.code().to_owned(),
            nationality: licence.nationality.clone(),
            birth_date: licence.birth_date,
            address: licence.address.clone(),
            issuing_authority: licence.issuing_authority.clone(),
            classes: licence
                .classes
                .as_slice()
                .iter()
                .map(|c| c.code().to_owned())
                .collect(),
            first_issued: licence.first_issued,
            valid_from: licence.valid_from,
            valid_until: licence.valid_until,
            statuses: licence.states.iter().map(|s| s.code().to_owned()).collect(),
            points: i64::from(licence.points),
            points_cycle_start: licence.points_cycle_start,
            medical_due: licence.medical_due,
            review_due: licence.review_due,
            photo: photo.map(|p| base64::engine::general_purpose::STANDARD.encode(&p.bytes)),
            photo_taken: photo.and_then(|p| p.taken),
        }
    }
}

fn decode_photo(b64: &str) -> Result<(Vec<u8>, PhotoFormat), FieldError> {
    // base64 grows data by 4/3: refuse before decoding anything too large.
    if b64.len() > MAX_REGISTRY_PHOTO_BYTES / 3 * 4 + 4 {
        return Err(err(
            "photo",
            "too_long",
            format!(
                "the photo is larger than {} bytes",
                MAX_REGISTRY_PHOTO_BYTES
            ),
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| err("photo", "invalid_format", "photo is not valid base64"))?;
    let format = PhotoFormat::sniff(&bytes).ok_or_else(|| {
        err(
            "photo",
            "invalid_format",
            "photo is neither a JPEG nor a PNG",
        )
    })?;
    Ok((bytes, format))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_record() -> RegistryRecord {
        serde_json::from_str(
            r#"{"number":"110101199001011234","name":"张伟","sex":"M","nationality":"CHN",
            "birth_date":"1990-01-01","address":"北京市东城区东四十条12号",
            "issuing_authority":"北京市公安局公安交通管理局","classes":["C1","D"],
            "first_issued":"2012-03-05","valid_from":"2018-03-05","valid_until":"2028-03-05",
            "statuses":[],"points":0,"points_cycle_start":"2026-03-05",
            "medical_due":null,"review_due":null,"photo":null,"photo_taken":null}"#,
        )
        .unwrap()
    }

    fn codes(r: &RegistryRecord) -> Vec<(&'static str, &'static str)> {
        r.validate()
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn the_contract_example_is_valid_and_round_trips() {
        let rec = sample_record();
        let valid = rec.validate().unwrap();
        assert_eq!(valid.licence.number.as_str(), "110101199001011234");
        assert_eq!(valid.licence.classes.to_codes(), "C1,D");
        assert!(valid.photo.is_none());
        assert_eq!(RegistryRecord::from_licence(&valid.licence, None), rec);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut v = serde_json::to_value(sample_record()).unwrap();
        v["nickname"] = "x".into();
        assert!(serde_json::from_value::<RegistryRecord>(v).is_err());
    }

    #[test]
    fn every_problem_is_reported() {
        let mut r = sample_record();
        r.number = "12".into();
        r.sex = "X".into();
        r.classes = vec!["C1".into(), "Z9".into(), "C1".into()];
        r.statuses = vec!["bogus".into()];
        r.points = -1;
        let got = codes(&r);
        assert_eq!(
            got,
            vec![
                ("number", "invalid_format"),
                ("sex", "unknown_code"),
                ("classes", "unknown_code"),
                ("classes", "duplicate"),
                ("statuses", "unknown_code"),
                ("points", "out_of_range"),
            ]
        );
    }

    #[test]
    fn text_fields_are_required_bounded_and_clean() {
        let mut r = sample_record();
        r.name = "  ".into();
        r.address = "路".repeat(257);
        r.issuing_authority = "公安\u{0}局".into();
        assert_eq!(
            codes(&r),
            vec![
                ("name", "required"),
                ("address", "too_long"),
                ("issuing_authority", "invalid_format")
            ]
        );
    }

    #[test]
    fn nationality_must_be_alpha3() {
        for bad in ["CN", "chn", "CHNA", "中国"] {
            let mut r = sample_record();
            r.nationality = bad.into();
            assert_eq!(codes(&r), vec![("nationality", "invalid_format")], "{bad}");
        }
    }

    #[test]
    fn classes_must_not_be_empty() {
        let mut r = sample_record();
        r.classes.clear();
        assert_eq!(codes(&r), vec![("classes", "required")]);
    }

    #[test]
    fn states_are_parsed_sorted_and_deduplicated() {
        let mut r = sample_record();
        r.statuses = vec!["locked".into(), "suspended".into()];
        let l = r.validate().unwrap().licence;
        assert_eq!(
            l.states,
            vec![RegistryState::Suspended, RegistryState::Locked]
        );
        r.statuses.push("locked".into());
        assert_eq!(codes(&r), vec![("statuses", "duplicate")]);
    }

    #[test]
    fn dates_must_be_in_order() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let mut r = sample_record();
        r.first_issued = d("1989-01-01");
        r.points_cycle_start = d("2026-03-05");
        assert_eq!(codes(&r), vec![("first_issued", "inconsistent")]);

        let mut r = sample_record();
        r.valid_from = d("2011-01-01");
        assert_eq!(codes(&r), vec![("valid_from", "inconsistent")]);

        let mut r = sample_record();
        r.valid_until = Some(r.valid_from);
        assert_eq!(codes(&r), vec![("valid_until", "inconsistent")]);

        let mut r = sample_record();
        r.valid_until = None;
        assert!(r.validate().is_ok(), "long-term validity");

        let mut r = sample_record();
        r.points_cycle_start = d("2010-01-01");
        assert_eq!(codes(&r), vec![("points_cycle_start", "inconsistent")]);
    }

    #[test]
    fn points_range() {
        for (p, ok) in [
            (0, true),
            (12, true),
            (99, true),
            (100, false),
            (-1, false),
            (i64::MAX, false),
        ] {
            let mut r = sample_record();
            r.points = p;
            assert_eq!(r.validate().is_ok(), ok, "{p}");
        }
    }

    #[test]
    fn photos_must_be_base64_jpeg_or_png_and_bounded() {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut r = sample_record();
        r.photo = Some(b64(b"\x89PNG\r\n\x1a\nrest"));
        r.photo_taken = Some("2026-01-01".parse().unwrap());
        let photo = r.validate().unwrap().photo.unwrap();
        assert_eq!(photo.format, PhotoFormat::Png);
        assert_eq!(
            RegistryRecord::from_licence(&r.validate().unwrap().licence, Some(&photo)),
            r
        );

        r.photo = Some(b64(&[0xFF, 0xD8, 0xFF, 0xE0]));
        assert_eq!(
            r.validate().unwrap().photo.unwrap().format,
            PhotoFormat::Jpeg
        );

        r.photo = Some(b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>"));
        assert_eq!(codes(&r), vec![("photo", "invalid_format")]);
        r.photo = Some("not base64!".into());
        assert_eq!(codes(&r), vec![("photo", "invalid_format")]);
        r.photo = Some("A".repeat(MAX_REGISTRY_PHOTO_BYTES / 3 * 4 + 8));
        assert_eq!(codes(&r), vec![("photo", "too_long")]);

        let mut r = sample_record();
        r.photo_taken = Some("2026-01-01".parse().unwrap());
        assert_eq!(codes(&r), vec![("photo_taken", "inconsistent")]);
    }
}
