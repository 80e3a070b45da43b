//! The error shape as the OpenAPI document describes it: `render::json_body` writes it, these
//! types only describe it. `details` is one of five shapes, told apart by their fields, and
//! `code` one of the stable codes below.

use std::borrow::Cow;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Every `code` an error answer may carry: each `ApiError::code()` (a unit test holds them
/// equal), and the codes of answers that are documented ahead of their code
/// (`request_timeout`, `rate_limited`, `busy`).
pub const ERROR_CODES: &[&str] = &[
    "already_decided",
    "busy",
    "claim_required",
    "claimed_by_another",
    "conflict",
    "e_licence_exists",
    "e_licence_not_found",
    "e_licence_superseded",
    "forbidden",
    "internal_error",
    "invalid_body",
    "invalid_event",
    "invalid_path",
    "invalid_record",
    "invalid_token",
    "licence_not_found",
    "malformed_json",
    "method_not_allowed",
    "not_eligible",
    "not_found",
    "not_ready",
    "other_authority",
    "payload_too_large",
    "photo_not_found",
    "photo_on_file_unusable",
    "photo_rejected",
    "photo_required",
    "photo_too_large",
    "photo_unreadable",
    "rate_limited",
    "request_timeout",
    "service_unavailable",
    "storage_unavailable",
    "submission_not_found",
    "unauthenticated",
    "unsupported_media_type",
    "unsupported_photo_format",
];

/// `{"error": {...}}`: every error answer.
#[derive(utoipa::ToSchema)]
#[schema(as = ErrorEnvelope)]
#[allow(dead_code)]
pub struct ErrorEnvelopeDoc {
    error: ErrorBodyDoc,
}

#[derive(utoipa::ToSchema)]
#[schema(as = ErrorBody)]
#[allow(dead_code)]
struct ErrorBodyDoc {
    code: ErrorCodeDoc,
    /// Human message in zh-CN or English, chosen by `Accept-Language`.
    message: String,
    #[schema(nullable = false)]
    details: Option<ErrorDetailsDoc>,
    /// The `x-request-id` of the answer, for support.
    #[schema(nullable = false)]
    request_id: Option<String>,
}

/// The error `code`.
struct ErrorCodeDoc;

impl PartialSchema for ErrorCodeDoc {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Stable snake_case code; each status of each operation says which it carries.",
            ))
            .enum_values(Some(ERROR_CODES.iter().copied()))
            .into()
    }
}

impl ToSchema for ErrorCodeDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// `details`, for the codes that carry them.
struct ErrorDetailsDoc;

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

fn integer(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .description(Some(description))
}

/// A closed object: exactly `fields`, all required. Closed, so that the shapes of `details`
/// exclude one another (a field error is not also a reason).
fn closed<const N: usize>(fields: [(&str, ObjectBuilder); N]) -> ObjectBuilder {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for (name, schema) in fields {
        object = object.property(name, schema).required(name);
    }
    object
}

impl PartialSchema for ErrorDetailsDoc {
    fn schema() -> RefOr<Schema> {
        let field_errors = ArrayBuilder::new()
            .title(Some("FieldErrors"))
            .description(Some(
                "`invalid_record`, `invalid_event`: every field that was refused.",
            ))
            .min_items(Some(1))
            .items(closed([
                ("field", string("The field, e.g. `valid_until`.")),
                (
                    "code",
                    string("`invalid_format`, `unknown_code`, `duplicate`, `out_of_range`, `inconsistent`, `too_long` or `required`."),
                ),
                ("message", string("What is wrong, in English.")),
            ]));
        let reasons = ArrayBuilder::new()
            .title(Some("Reasons"))
            .description(Some(
                "`not_eligible` (every reason the licence may not have an e-licence), \
                 `photo_rejected` and `photo_on_file_unusable` (every failed photo check).",
            ))
            .min_items(Some(1))
            .items(closed([
                (
                    "code",
                    string(
                        "Stable reason code, e.g. `expired`, `suspended`, `background_not_white`.",
                    ),
                ),
                ("message", string("The reason in the caller's language.")),
            ]));
        let superseded = closed([
            (
                "reason",
                ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                        Type::String,
                        Type::Null,
                    ]))
                    .enum_values(Some([
                        Some("class_changed"),
                        Some("renewed"),
                        Some("authority_changed"),
                        None,
                    ]))
                    .description(Some("The licence change that ended the e-licence.")),
            ),
            (
                "apply_again",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .enum_values(Some([true])),
            ),
        ])
        .title(Some("Superseded"))
        .description(Some(
            "`e_licence_superseded`: why, and that the holder applies again.",
        ));
        let photo = ObjectBuilder::new()
            .schema_type(Type::Object)
            .title(Some("PhotoProblem"))
            .description(Some(
                "`photo_unreadable`, `photo_too_large`: the cause, and the figures a client can act on.",
            ))
            .property(
                "cause",
                string("`empty`, `truncated`, `corrupt`; `file_too_large`, `dimensions_too_large`, `too_many_pixels`, `too_much_memory`…"),
            )
            .required("cause")
            .property("bytes", integer("The size of the file."))
            .property("limit", integer("The largest file taken, in bytes."))
            .property("detected", string("The format that was detected."))
            .property("kind", string("What made the pixels costly: `progressive` or `cmyk`."))
            .property("width", integer("Width in pixels."))
            .property("height", integer("Height in pixels."))
            .property("max_width", integer("The largest width taken."))
            .property("max_height", integer("The largest height taken."))
            .property("pixels", integer("Width × height."))
            .property("max_pixels", integer("The most pixels taken."))
            .property("components", integer("Colour components per pixel."))
            .property("bit_depth", integer("Bits per component."))
            .property("estimated_bytes", integer("The memory decoding would take."))
            .property("budget_bytes", integer("The memory a decode may take."));
        let problems = ArrayBuilder::new()
            .title(Some("Problems"))
            .description(Some("`not_ready`: every reason this instance cannot serve."))
            .min_items(Some(1))
            .items(closed([
                ("component", string("`storage` or `keys`.")),
                (
                    "cause",
                    string("A storage fault (`full`, `read_only`, `cannot_connect`…) or a keys problem (`writable_by_others`, `no_active_key`…)."),
                ),
            ]));
        OneOfBuilder::new()
            .description(Some("Present for the codes named in each shape only."))
            .item(field_errors)
            .item(reasons)
            .item(superseded)
            .item(photo)
            .item(problems)
            .into()
    }
}

impl ToSchema for ErrorDetailsDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorDetails")
    }
}
