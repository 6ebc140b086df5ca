//! A drop-in for `warp::sse`: routes in the style of warp's documentation,
//! written once (the macro below) and compiled twice, once with
//! `use warp::sse::…` and once with `use sse_warp::…`: the `use` line is the
//! only change. warp writes `data:x` where sse-codec writes `data: x`, so the
//! bytes differ everywhere; what a browser reads back is compared, equal
//! where warp is right, and different, as documented, where it is wrong.

use std::convert::Infallible;
use std::time::Duration;

use futures_util::stream::{self, Stream};
use serde::Serialize;
use test_support::dispatched;
use warp::Filter;

#[derive(Serialize)]
struct Msg {
    from: u32,
    text: String,
}

macro_rules! routes {
    () => {
        /// Events warp writes correctly, with every method of its `Event`.
        pub(super) fn correct() -> impl Stream<Item = Result<Event, Infallible>> {
            stream::iter(vec![
                Ok(Event::default().data("payload")),
                Ok(Event::default()
                    .data("other message\nwith next line")
                    .event("chat")
                    .id(1.to_string())
                    .retry(Duration::from_millis(15000))),
                Ok(Event::default()
                    .id(2.to_string())
                    .json_data(Msg {
                        from: 2,
                        text: "hello".into(),
                    })
                    .unwrap()),
                Ok(Event::default().comment("just a comment")),
            ])
        }

        /// Events warp writes wrongly (the browser reads something else).
        pub(super) fn differing() -> impl Stream<Item = Result<Event, Infallible>> {
            stream::iter(vec![
                Ok(Event::default().data(" leading space")),
                Ok(Event::default().data("a\rb")),
            ])
        }

        pub(super) fn routes(
        ) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
            let correct_route = warp::path("correct").map(|| {
                let stream = keep_alive()
                    .interval(Duration::from_secs(5))
                    .text("thump".to_string())
                    .stream(correct());
                reply(stream)
            });
            let differing_route = warp::path("differing").map(|| reply(differing()));
            let last = warp::path("last")
                .and(last_event_id::<u32>())
                .map(|id: Option<u32>| format!("{id:?}"));
            correct_route.or(differing_route).or(last)
        }
    };
}

mod theirs {
    use super::*;
    use warp::sse::{keep_alive, last_event_id, reply, Event};
    routes!();
}

mod ours {
    use super::*;
    use sse_warp::{keep_alive, last_event_id, reply, Event};
    routes!();
}

async fn get(
    routes: &(impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone + 'static),
    path: &str,
    last_event_id: Option<&str>,
) -> String {
    let mut request = warp::test::request().path(path);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.reply(routes).await;
    String::from_utf8(response.body().to_vec()).unwrap()
}

fn owned(events: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|&(t, d, i)| (t.to_owned(), d.to_owned(), i.to_owned()))
        .collect()
}

#[tokio::test]
async fn where_warp_is_right_the_browser_reads_the_same() {
    let theirs = get(&theirs::routes(), "/correct", None).await;
    let ours = get(&ours::routes(), "/correct", None).await;
    let expected = owned(&[
        ("message", "payload", ""),
        ("chat", "other message\nwith next line", "1"),
        ("message", "{\"from\":2,\"text\":\"hello\"}", "2"),
    ]);
    assert_eq!(dispatched(&theirs), expected);
    assert_eq!(dispatched(&ours), expected);
    assert_eq!(
        ours,
        "data: payload\n\n\
         event: chat\nid: 1\nretry: 15000\ndata: other message\ndata: with next line\n\n\
         id: 2\ndata: {\"from\":2,\"text\":\"hello\"}\n\n\
         :just a comment\n"
    );
}

#[tokio::test]
async fn where_warp_is_wrong_the_browser_reads_back_what_was_given() {
    let theirs = get(&theirs::routes(), "/differing", None).await;
    let ours = get(&ours::routes(), "/differing", None).await;
    // warp loses the leading space (`data: x` reads as "x") and splits on
    // LF only: after a lone CR the browser reads the rest as a field name,
    // and the data after it is lost.
    assert_eq!(
        dispatched(&theirs),
        owned(&[("message", "leading space", ""), ("message", "a", "")])
    );
    assert_eq!(
        dispatched(&ours),
        owned(&[("message", " leading space", ""), ("message", "a\nb", "")])
    );
}

#[tokio::test]
async fn a_field_that_injects_reaches_the_browser_from_warp_and_ends_our_reply() {
    let injected = "1\nevent: admin\ndata: injected";
    let theirs = warp::test::request()
        .reply(&warp::any().map(move || {
            warp::sse::reply(stream::iter([Ok::<_, Infallible>(
                warp::sse::Event::default().id(injected).data("x"),
            )]))
        }))
        .await;
    let theirs = String::from_utf8(theirs.body().to_vec()).unwrap();
    // The browser dispatches an event of the attacker's type and data.
    assert_eq!(dispatched(&theirs), owned(&[("admin", "x\ninjected", "1")]));

    let ours = warp::test::request()
        .reply(&warp::any().map(move || {
            sse_warp::reply(stream::iter([
                Ok::<_, Infallible>(sse_warp::Event::default().id("0").data("before")),
                Ok(sse_warp::Event::default().id(injected).data("x")),
                Ok(sse_warp::Event::default().data("after")),
            ]))
        }))
        .await;
    assert_eq!(
        ours.body(),
        "id: 0\ndata: before\n\n",
        "ends at the invalid event"
    );
    assert!(sse_warp::Event::default().id(injected).error().is_some());
}

#[tokio::test]
async fn last_event_id_parses_like_warp_and_never_rejects() {
    for routes_are_ours in [false, true] {
        let got = |id: Option<&'static str>| async move {
            if routes_are_ours {
                get(&ours::routes(), "/last", id).await
            } else {
                get(&theirs::routes(), "/last", id).await
            }
        };
        assert_eq!(got(Some("42")).await, "Some(42)");
        assert_eq!(got(None).await, "None");
    }
    // warp rejects an id that is not a `u32`; ours reads it as no id.
    let theirs = warp::test::request()
        .path("/last")
        .header("last-event-id", "abc")
        .reply(&theirs::routes())
        .await;
    assert_eq!(theirs.status(), 400);
    assert_eq!(get(&ours::routes(), "/last", Some("abc")).await, "None");
}

#[tokio::test]
async fn json_data_fails_with_serde_json_error_like_warp() {
    use std::collections::BTreeMap;
    let mut bad_keys = BTreeMap::new();
    bad_keys.insert((1, 2), "tuple keys are not JSON");
    let ours: serde_json::Error = sse_warp::Event::default().json_data(&bad_keys).unwrap_err();
    let theirs: serde_json::Error = warp::sse::Event::default()
        .json_data(&bad_keys)
        .unwrap_err();
    assert_eq!(ours.to_string(), theirs.to_string());
}
