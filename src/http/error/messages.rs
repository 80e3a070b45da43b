//! The human messages of every error, in Chinese and English. Client mistakes explain
//! themselves; server faults never show their internal cause (it goes to the log, with the
//! request id).

use super::ApiError;
use crate::i18n::Lang;

impl ApiError {
    /// The human message. Client mistakes explain themselves; server faults never show their
    /// internal cause (it goes to the log, with the request id).
    pub fn message(&self, lang: Lang) -> String {
        let (zh, en): (&str, String) = match self {
            ApiError::Unauthenticated => (
                "需要登录：请提供 Bearer 令牌",
                "a bearer token is required".into(),
            ),
            ApiError::InvalidToken => (
                "令牌无效或已吊销",
                "the token is not valid or was revoked".into(),
            ),
            ApiError::Forbidden => ("无权访问此资源", "this token may not use this route".into()),
            ApiError::LicenceNotFound => {
                ("未找到该驾驶证", "no such licence in the registry".into())
            }
            ApiError::OtherAuthority => (
                "该驾驶证不属于本车辆管理所，请到发证机关办理",
                "the licence was issued by another authority: it is served there".into(),
            ),
            ApiError::ELicenceNotFound => (
                "尚未申领电子驾驶证",
                "no e-licence has been issued for this licence".into(),
            ),
            ApiError::NotEligible(_) => (
                "驾驶证当前不符合申领条件，详见 details",
                "the licence may not get an e-licence now; see details".into(),
            ),
            ApiError::PhotoRequired => (
                "没有可用的留存照片，请上传照片",
                "there is no photo on file: submit a photo".into(),
            ),
            ApiError::PhotoOnFileUnusable(_) => (
                "留存照片未通过自动检测，请拍照或从相册上传照片，详见 details",
                "the photo on file fails the automatic checks: submit a new photo; see details"
                    .into(),
            ),
            ApiError::PhotoRejected(_) => (
                "照片未通过自动检测，详见 details",
                "the photo fails the automatic checks; see details".into(),
            ),
            ApiError::UnsupportedPhoto => (
                "照片格式不受支持，请上传 JPEG 或 PNG 照片",
                "unsupported photo format: send a JPEG or PNG".into(),
            ),
            ApiError::PhotoUnreadable(e) => (
                photo_unreadable_zh(e),
                format!("the photo cannot be read ({e}): take or pick it again"),
            ),
            ApiError::PhotoTooLarge(e) => (
                "照片过大，无法处理，请重新拍摄或选择较小的照片，详见 details",
                format!("the photo is too large to process ({e}): take or pick a smaller one"),
            ),
            ApiError::ELicenceExists => (
                "已有电子驾驶证，如需更换照片请使用更换照片",
                "an e-licence exists already: change its photo instead".into(),
            ),
            ApiError::ELicenceSuperseded(reason) => (
                match reason {
                    Some(r) => r.message(Lang::Zh),
                    None => "原电子驾驶证已失效，请重新申领电子驾驶证",
                },
                format!(
                    "the e-licence no longer stands: {}",
                    reason.map_or("apply for the e-licence again", |r| r.message(Lang::En))
                ),
            ),
            ApiError::InvalidEvent(_) => (
                "登记事项变更未通过校验，详见 details",
                "the registry event is invalid; see details".into(),
            ),
            ApiError::SubmissionNotFound => {
                ("未找到该照片审核记录", "no such photo submission".into())
            }
            ApiError::PhotoNotFound => ("没有可显示的照片", "there is no such photo".into()),
            ApiError::AlreadyDecided(state) => (
                "该照片已审核完毕或已被替换",
                format!("the submission is no longer waiting for review (it is {state})"),
            ),
            ApiError::ClaimedByOther(until) => (
                "该照片正由其他审核员处理",
                format!(
                    "another reviewer holds this item until {}",
                    until.to_rfc3339()
                ),
            ),
            ApiError::ClaimRequired => (
                "请先领取该照片再作审核决定（或领取已过期）",
                "claim the item before deciding it (or your claim lapsed)".into(),
            ),
            ApiError::RouteNotFound => ("请求的地址不存在", "no such route".into()),
            ApiError::MethodNotAllowed => (
                "不支持该请求方法",
                "this method is not allowed on this route".into(),
            ),
            ApiError::MalformedJson(d) => (
                "请求体不是有效的 JSON",
                format!("the body is not valid JSON: {d}"),
            ),
            ApiError::InvalidBody(d) => (
                "请求体字段不符合要求",
                format!("the body does not match the expected fields: {d}"),
            ),
            ApiError::InvalidPath(d) => (
                "请求地址中的参数无效",
                format!("invalid path parameter: {d}"),
            ),
            ApiError::InvalidRecord(_) => (
                "驾驶证记录未通过校验，详见 details",
                "the licence record is invalid; see details".into(),
            ),
            ApiError::PayloadTooLarge => ("请求体过大", "the request body is too large".into()),
            ApiError::UnsupportedMediaType => (
                "不支持的内容类型，请使用 application/json",
                "unsupported content type: send application/json".into(),
            ),
            // The constraint's own text names tables and indexes: it is logged, never shown.
            ApiError::Conflict(_) => (
                "请求与现有数据冲突（可能是同时提交的另一个请求），请刷新后重试",
                "the request conflicts with existing data (perhaps a request sent at the same time); refresh and retry".into(),
            ),
            ApiError::RequestTimeout => (
                "请求体未在规定时间内发送完毕，连接已关闭，请重新发送",
                "the request body did not arrive in time and the connection was closed; send it again".into(),
            ),
            ApiError::RateLimited { retry_after_secs } => (
                "照片上传过于频繁，请稍后再试（见 Retry-After）",
                format!("too many photo uploads with this token; retry in {retry_after_secs} s (Retry-After)"),
            ),
            ApiError::Busy { retry_after_secs } => (
                "照片处理繁忙，请稍后重试（见 Retry-After）",
                format!("photo processing is busy; retry in {retry_after_secs} s (Retry-After)"),
            ),
            ApiError::Unavailable(_) => (
                "服务暂时不可用，请稍后重试",
                "the service is temporarily unavailable; retry shortly".into(),
            ),
            ApiError::StorageUnavailable(_) => (
                "数据存储暂时不可用，请稍后重试",
                "storage is temporarily unavailable; retry shortly".into(),
            ),
            ApiError::NotReady(_) => (
                "服务尚未就绪，原因见 details",
                "not ready to serve; see details".into(),
            ),
            ApiError::Internal(_) => ("服务器内部错误", "internal server error".into()),
        };
        match lang {
            Lang::Zh => {
                // Keep the client-facing detail (e.g. which field) beside the Chinese text.
                match self {
                    ApiError::MalformedJson(d)
                    | ApiError::InvalidBody(d)
                    | ApiError::InvalidPath(d) => {
                        format!("{zh}：{d}")
                    }
                    _ => zh.to_owned(),
                }
            }
            Lang::En => en,
        }
    }
}

/// Why a photo cannot be read, in Chinese: what the holder can do about it.
fn photo_unreadable_zh(e: &crate::photo::PhotoError) -> &'static str {
    use crate::photo::PhotoError as P;
    match e {
        P::Empty => "照片文件为空，请重新拍摄或选择",
        P::Truncated(_) => "照片文件不完整（可能上传中断），请重新拍摄或选择",
        _ => "照片无法读取，请重新拍摄或选择",
    }
}
