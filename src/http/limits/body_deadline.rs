//! A deadline for the whole request body. actix's own `client_request_timeout` covers the
//! request head only: a client that sent its body at one byte a second held its connection
//! (and a file descriptor) for as long as it liked; 300 of them under a 256 open-files limit
//! made `/healthz` refuse connections and broke the keys watcher.
//!
//! The middleware wraps the request payload in a stream that fails once its reader has waited
//! the deadline for it, counted from the reader's first poll (after the token gate and the
//! handler's own checks); bytes that already arrived are never refused. Whatever reads the body (the JSON extractor, the
//! multipart reader, a handler's own read) then fails, and however it names that failure, the
//! answer is 408 `request_timeout` with `Connection: close`: the rest of the body is neither
//! waited for nor read.
//!
//! The deadline is transport time, on the runtime's monotonic timer like actix's own head
//! timeout, not business time from the injected `Clock`.

use super::{close_unread, has_body};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::upload::is_multipart_content_type;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::rt::time::{sleep, Sleep};
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, ResponseError};
use futures_util::Stream;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Puts the body of every request that has one under its deadline: the photo deadline for a
/// `multipart/form-data` upload, the JSON deadline for anything else.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limits = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.limits.clone());
    let (Some(limits), true) = (limits, has_body(req.headers())) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let deadline = if is_multipart_content_type(req.headers()) {
        limits.photo_body_deadline
    } else {
        limits.json_body_deadline
    };
    let expired = Rc::new(Cell::new(false));
    let inner = Rc::new(RefCell::new(req.take_payload()));
    let payload = DeadlinePayload::new(inner.clone(), deadline, expired.clone());
    req.set_payload(Payload::Stream {
        payload: Box::pin(payload),
    });
    let res = next.call(req).await;
    if !expired.get() {
        return Ok(res?.map_into_boxed_body());
    }
    tracing::info!(
        deadline_secs = deadline.as_secs_f64(),
        "request body too slow: answered 408 and closed"
    );
    let mut timeout = ApiError::RequestTimeout.error_response();
    close_unread(&mut timeout, inner);
    match res {
        Ok(res) => Ok(ServiceResponse::new(res.into_parts().0, timeout)),
        Err(_) => Err(ApiError::RequestTimeout.into()),
    }
}

/// Is this the failure of a body past its deadline? Readers name it `request_timeout`
/// themselves (a counter refusal is audited under that code); the middleware answers 408
/// whatever they make of it.
pub fn is_deadline(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// The request payload, failing once its reader has waited `deadline` for it (and saying so
/// in `expired`). The time counts from the reader's first poll, and only a reader left waiting
/// fails: body bytes that already arrived are handed over however late the reader comes for
/// them, so a server slow to start reading (a busy database before the body is read) does not
/// make a client's body late.
struct DeadlinePayload {
    /// Shared with the middleware, which keeps it unread past the deadline (`close_unread`).
    inner: Rc<RefCell<Payload>>,
    deadline: Duration,
    /// Set at the first poll.
    timer: Option<Pin<Box<Sleep>>>,
    expired: Rc<Cell<bool>>,
}

impl DeadlinePayload {
    fn new(inner: Rc<RefCell<Payload>>, deadline: Duration, expired: Rc<Cell<bool>>) -> Self {
        DeadlinePayload {
            inner,
            deadline,
            timer: None,
            expired,
        }
    }

    fn expire(&mut self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.expired.set(true);
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the request body did not arrive within its deadline",
        )))))
    }
}

impl Stream for DeadlinePayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired.get() {
            return self.expire();
        }
        let deadline = self.deadline;
        self.timer.get_or_insert_with(|| Box::pin(sleep(deadline)));
        let next = Pin::new(&mut *self.inner.borrow_mut()).poll_next(cx);
        match next {
            Poll::Ready(item) => Poll::Ready(item),
            // Waiting for the client: a trickle waits between its bytes too.
            Poll::Pending => match self.timer.as_mut().map(|t| t.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => self.expire(),
                _ => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    /// A client that stopped sending: a payload that never yields.
    fn stalled() -> Rc<RefCell<Payload>> {
        Rc::new(RefCell::new(Payload::Stream {
            payload: Box::pin(futures_util::stream::pending()),
        }))
    }

    #[actix_web::test]
    async fn a_stalled_body_fails_at_its_deadline_and_says_so() {
        let expired = Rc::new(Cell::new(false));
        let started = actix_web::rt::time::Instant::now();
        let mut body = DeadlinePayload::new(stalled(), Duration::from_millis(50), expired.clone());
        let item = body.next().await.expect("an item");
        assert!(item.is_err_and(|e| is_deadline(&e)));
        assert!(expired.get());
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(matches!(body.next().await, Some(Err(_))));
    }

    /// Bytes that arrived are handed over even when the reader comes for them after the
    /// deadline: only a reader left waiting fails.
    #[actix_web::test]
    async fn bytes_already_there_pass_whenever_they_are_read() {
        let expired = Rc::new(Cell::new(false));
        let inner = Rc::new(RefCell::new(Payload::from(Bytes::from_static(b"{}"))));
        let mut body = DeadlinePayload::new(inner, Duration::from_millis(1), expired.clone());
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(body.next().await.unwrap().unwrap(), "{}");
        assert!(body.next().await.is_none());
        assert!(!expired.get());
    }

    #[actix_web::test]
    async fn a_body_in_time_passes_untouched() {
        let expired = Rc::new(Cell::new(false));
        let inner = Rc::new(RefCell::new(Payload::from(Bytes::from_static(
            b"{\"a\":1}",
        ))));
        let mut body = DeadlinePayload::new(inner, Duration::from_secs(5), expired.clone());
        assert_eq!(body.next().await.unwrap().unwrap(), "{\"a\":1}");
        assert!(body.next().await.is_none());
        assert!(!expired.get());
    }
}
