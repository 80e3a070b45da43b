//! The answers many operations share, added to the document here, once, from what each
//! operation declares (its security, parameters and body), rather than by hand on every
//! handler: a new handler gets them by declaring what it takes. Each is merged into what the
//! handler documents for that status (its codes come first; these are appended).

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, Response};
use utoipa::Modify;

/// One error answer: its status, the codes it carries and when.
struct Answer {
    status: &'static str,
    codes: &'static [&'static str],
    why: &'static str,
    /// The headers it carries: name and description.
    headers: &'static [(&'static str, &'static str)],
}

const WWW_AUTHENTICATE: (&str, &str) = ("WWW-Authenticate", "`Bearer realm=\"elicence\"`");
const RETRY_AFTER: (&str, &str) = ("Retry-After", "Seconds to wait before trying again.");

/// Every secured operation: the token is checked before the body is read.
const UNAUTHENTICATED: Answer = Answer {
    status: "401",
    codes: &["unauthenticated", "invalid_token"],
    why: "no bearer token, or one that is unknown, revoked or expired",
    headers: &[WWW_AUTHENTICATE],
};
const FORBIDDEN: Answer = Answer {
    status: "403",
    codes: &["forbidden"],
    why: "the token's role may not use this operation",
    headers: &[],
};
/// Every operation with path or query parameters.
const INVALID_PARAMETER: Answer = Answer {
    status: "400",
    codes: &["invalid_path"],
    why: "a path or query parameter breaks its documented type, range or pattern, or is unknown",
    headers: &[],
};
/// Every operation with a request body.
const REQUEST_TIMEOUT: Answer = Answer {
    status: "408",
    codes: &["request_timeout"],
    why: "the body did not arrive in time; the connection is closed",
    headers: &[],
};
const PAYLOAD_TOO_LARGE: Answer = Answer {
    status: "413",
    codes: &["payload_too_large"],
    why: "the body is larger than this operation takes",
    headers: &[],
};
const UNSUPPORTED_MEDIA_TYPE: Answer = Answer {
    status: "415",
    codes: &["unsupported_media_type"],
    why: "the body is not of a media type this operation takes",
    headers: &[],
};
const INVALID_BODY: Answer = Answer {
    status: "422",
    codes: &["invalid_body"],
    why: "the body does not match its schema",
    headers: &[],
};
/// Every operation with a JSON body.
const MALFORMED_JSON: Answer = Answer {
    status: "400",
    codes: &["malformed_json"],
    why: "the body is not well-formed JSON",
    headers: &[],
};
/// Every photo upload (a `multipart/form-data` body).
const PHOTO_UNDECODABLE: Answer = Answer {
    status: "422",
    codes: &["photo_too_large", "photo_unreadable"],
    why: "the photo cannot be decoded within the limits (`details`: the cause and the figures)",
    headers: &[],
};
const RATE_LIMITED: Answer = Answer {
    status: "429",
    codes: &["rate_limited"],
    why: "too many uploads; retry after `Retry-After` seconds",
    headers: &[RETRY_AFTER],
};
const BUSY: Answer = Answer {
    status: "503",
    codes: &["busy"],
    why: "too many photos are being processed; retry after `Retry-After` seconds",
    headers: &[RETRY_AFTER],
};
/// Every secured operation: the token is looked up in the database. (The public operations
/// that use it, readyz and the status list, document their 503 themselves.)
const STORAGE_UNAVAILABLE: Answer = Answer {
    status: "503",
    codes: &["storage_unavailable", "service_unavailable"],
    why: "the database cannot serve now, or the work was cancelled as the server stops; \
          retry after `Retry-After` seconds",
    headers: &[RETRY_AFTER],
};
/// Every 503, whoever documents it: each carries `Retry-After`.
const RETRY_LATER: Answer = Answer {
    status: "503",
    codes: &[],
    why: "",
    headers: &[RETRY_AFTER],
};

/// Whether an operation declares a secured, a JSON or a multipart request.
fn is_secured(op: &Operation) -> bool {
    op.security.as_ref().is_some_and(|s| !s.is_empty())
}

fn body_types(op: &Operation) -> (bool, bool) {
    op.request_body.as_ref().map_or((false, false), |body| {
        let has = |t: &str| body.content.keys().any(|k| k == t);
        (has("application/json"), has("multipart/form-data"))
    })
}

/// The shared answers `op` gives, from what it declares.
fn answers_of(op: &Operation) -> Vec<&'static Answer> {
    let mut answers = Vec::new();
    let secured = is_secured(op);
    if secured {
        answers.extend([&UNAUTHENTICATED, &FORBIDDEN]);
    }
    if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        answers.push(&INVALID_PARAMETER);
    }
    let (json, multipart) = body_types(op);
    if op.request_body.is_some() {
        answers.extend([
            &REQUEST_TIMEOUT,
            &PAYLOAD_TOO_LARGE,
            &UNSUPPORTED_MEDIA_TYPE,
            &INVALID_BODY,
        ]);
    }
    if json {
        answers.push(&MALFORMED_JSON);
    }
    if multipart {
        answers.extend([&PHOTO_UNDECODABLE, &RATE_LIMITED, &BUSY]);
    }
    if secured {
        answers.push(&STORAGE_UNAVAILABLE);
    }
    if secured || op.responses.responses.contains_key("503") {
        answers.push(&RETRY_LATER);
    }
    answers
}

/// Adds every operation's shared answers; declares the public operations public
/// (`security: []`); gives every error answer the error envelope as its body.
pub struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                for answer in answers_of(op) {
                    merge(op, answer);
                }
                if op.security.is_none() {
                    op.security = Some(Vec::new());
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    if let (true, RefOr::T(response)) = (is_error(status), response) {
                        with_error_body(response);
                    }
                }
            }
        }
    }
}

fn is_error(status: &str) -> bool {
    status.starts_with('4') || status.starts_with('5')
}

/// `answer` in `op`'s response for its status: its codes appended to the description (unless
/// the handler's names them already), its headers added.
fn merge(op: &mut Operation, answer: &Answer) {
    let entry = op
        .responses
        .responses
        .entry(answer.status.to_owned())
        .or_insert_with(|| RefOr::T(Response::new("")));
    let RefOr::T(response) = entry else {
        return;
    };
    let named = |code: &&str| response.description.contains(&format!("`{code}`"));
    if !answer.codes.iter().all(named) {
        let codes: Vec<String> = answer.codes.iter().map(|c| format!("`{c}`")).collect();
        let text = format!("{}: {}", codes.join(", "), answer.why);
        response.description = if response.description.trim().is_empty() {
            text
        } else {
            format!("{}; {text}", response.description.trim_end_matches('.'))
        };
    }
    for (name, description) in answer.headers {
        response
            .headers
            .entry((*name).to_owned())
            .or_insert_with(|| {
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some(*description))
                    .build()
            });
    }
}

/// Every error answer is the JSON envelope, whatever the handler said.
fn with_error_body(response: &mut Response) {
    response.content.clear();
    response.content.insert(
        "application/json".to_owned(),
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
            .build(),
    );
}
