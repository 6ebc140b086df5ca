//! Topics (feature `topics`): routing by matchers, private updates,
//! publishers' ids, resuming, in memory and across instances on a real
//! Redis. The rules are the Mercure protocol's ("Subscription",
//! "Subscribers", "Reconnection").
#![cfg(feature = "topics")]

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use sse_hub::redis::RedisBackend;
use sse_hub::topics::{Access, MatchType, Matcher, TopicHub, TopicSubscription, Update};
use sse_hub::{Hub, Resume};
use test_support::servers::RedisServer;
use url::Url;

use support::decode_all;

fn base() -> Url {
    Url::parse("https://example.com/.well-known/mercure").unwrap()
}

fn memory() -> TopicHub {
    TopicHub::builder(Hub::new(), base()).build()
}

fn exact(topic: &str) -> Matcher {
    Matcher::exact(topic)
}

fn pattern(p: &str) -> Matcher {
    Matcher::url_pattern(p, &base()).unwrap()
}

/// `(id, data)` of the events read until `n` arrived (5 s at most each).
async fn read_n(sub: &mut TopicSubscription, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while out.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("an event within 5 s")
            .expect("the stream goes on");
        for event in decode_all(&chunk) {
            out.push((
                event.id().unwrap_or_default().to_owned(),
                event.data().to_owned(),
            ));
        }
    }
    out
}

fn data(events: &[(String, String)]) -> Vec<&str> {
    events.iter().map(|(_, d)| d.as_str()).collect()
}

/// Nothing more arrives: proven by publishing a marker every subscriber
/// selects and reading it as the very next event.
async fn next_is_marker(
    hub: &TopicHub<impl sse_hub::backend::Backend>,
    subs: &mut [&mut TopicSubscription],
) {
    hub.publish(Update::new("marker", "marker")).await.unwrap();
    for sub in subs {
        assert_eq!(data(&read_n(sub, 1).await), ["marker"]);
    }
}

#[tokio::test]
async fn a_subscriber_gets_what_one_of_its_matchers_selects_and_nothing_else() {
    let hub = memory();
    let mut sub = hub
        .subscribe(
            vec![
                exact("https://example.com/foo"),
                pattern("/books/:id"),
                exact("marker"),
            ],
            Access::Public,
            Resume::Live,
        )
        .await
        .unwrap();
    for (topic, data) in [
        ("https://example.com/foo", "foo"),
        ("https://example.com/foo/", "not: trailing slash"),
        ("https://example.com/books/1", "book"),
        ("/books/2", "relative book"),
        ("https://example.com/books/1/chapters", "not: deeper"),
        ("https://example.com/authors/1", "not: other"),
    ] {
        hub.publish(Update::new(topic, data)).await.unwrap();
    }
    // An alternate topic selects as well as the canonical one.
    hub.publish(Update::new("urn:other", "alternate").topic("https://example.com/foo"))
        .await
        .unwrap();
    let got = read_n(&mut sub, 4).await;
    assert_eq!(data(&got), ["foo", "book", "relative book", "alternate"]);
    next_is_marker(&hub, &mut [&mut sub]).await;
}

#[tokio::test]
async fn a_private_update_reaches_only_subscribers_whose_access_grants_one_of_its_topics() {
    let hub = memory();
    let everything = || vec![Matcher::exact("*")];
    let mut public = hub
        .subscribe(everything(), Access::Public, Resume::Live)
        .await
        .unwrap();
    let mut alice = hub
        .subscribe(
            everything(),
            Access::Topics(vec![pattern("/users/alice/:any")]),
            Resume::Live,
        )
        .await
        .unwrap();
    let mut bob = hub
        .subscribe(
            everything(),
            Access::Topics(vec![exact("/users/bob/inbox")]),
            Resume::Live,
        )
        .await
        .unwrap();
    let mut admin = hub
        .subscribe(everything(), Access::Topics(vec![exact("*")]), Resume::Live)
        .await
        .unwrap();
    hub.publish(Update::new("/users/alice/inbox", "for alice").private())
        .await
        .unwrap();
    hub.publish(Update::new("/users/bob/inbox", "for bob").private())
        .await
        .unwrap();
    // Granted through an alternate topic.
    hub.publish(
        Update::new("/teams/1", "for bob too")
            .topic("/users/bob/inbox")
            .private(),
    )
    .await
    .unwrap();
    hub.publish(Update::new("/news", "for all")).await.unwrap();

    assert_eq!(data(&read_n(&mut alice, 2).await), ["for alice", "for all"]);
    assert_eq!(
        data(&read_n(&mut bob, 3).await),
        ["for bob", "for bob too", "for all"]
    );
    assert_eq!(data(&read_n(&mut public, 1).await), ["for all"]);
    assert_eq!(
        data(&read_n(&mut admin, 4).await),
        ["for alice", "for bob", "for bob too", "for all"]
    );
    next_is_marker(&hub, &mut [&mut public, &mut alice, &mut bob, &mut admin]).await;
}

#[tokio::test]
async fn a_subscriber_resumes_after_a_publishers_id_with_what_it_may_read() {
    let hub = memory();
    let books = || vec![pattern("/books/:id")];
    let one = hub
        .publish(Update::new("/books/1", "one").id("urn:isbn:1"))
        .await
        .unwrap();
    assert_eq!(one, "urn:isbn:1");
    let two = hub.publish(Update::new("/books/2", "two")).await.unwrap();
    assert!(two.starts_with("urn:uuid:"), "{two}");
    hub.publish(Update::new("/authors/1", "not a book"))
        .await
        .unwrap();
    hub.publish(Update::new("/books/3", "private").private())
        .await
        .unwrap();
    hub.publish(Update::new("/books/4", "four").id("4"))
        .await
        .unwrap();

    let mut resumed = hub
        .subscribe(books(), Access::Public, Resume::After("urn:isbn:1"))
        .await
        .unwrap();
    assert_eq!(resumed.last_event_id(), Some("urn:isbn:1"));
    let got = read_n(&mut resumed, 2).await;
    assert_eq!(
        got,
        [(two.clone(), "two".into()), ("4".into(), "four".into())]
    );

    // `earliest`: the whole history for its topics.
    let mut earliest = hub
        .subscribe(books(), Access::Public, Resume::Oldest)
        .await
        .unwrap();
    assert_eq!(earliest.last_event_id(), Some("earliest"));
    assert_eq!(
        data(&read_n(&mut earliest, 3).await),
        ["one", "two", "four"]
    );

    // An unknown id: live only, and the response says `earliest`.
    let mut unknown = hub
        .subscribe(books(), Access::Public, Resume::After("nope"))
        .await
        .unwrap();
    assert_eq!(unknown.last_event_id(), Some("earliest"));

    // The id it names is never that of an update it may not read: after
    // `4`, the newest it may read before the first one sent is `4`; after
    // the private one (id unknown to it), the newest it may read.
    let all = {
        let mut all = hub
            .subscribe(
                vec![exact("*")],
                Access::Topics(vec![exact("*")]),
                Resume::Oldest,
            )
            .await
            .unwrap();
        read_n(&mut all, 5).await
    };
    let (not_a_book, private_id) = (&all[2].0, &all[3].0);
    let after_private = hub
        .subscribe(books(), Access::Public, Resume::After(private_id))
        .await
        .unwrap();
    assert_eq!(after_private.last_event_id(), Some(not_a_book.as_str()));
    drop(after_private);

    hub.publish(Update::new("/books/5", "five")).await.unwrap();
    assert_eq!(data(&read_n(&mut unknown, 1).await), ["five"]);
    assert_eq!(data(&read_n(&mut resumed, 1).await), ["five"]);
}

#[tokio::test]
async fn one_pattern_used_by_many_subscribers_is_registered_once() {
    let hub = memory();
    let mut subs = Vec::new();
    for n in 0..100 {
        let m = Matcher::new(
            MatchType::UrlPattern,
            &format!("/feeds/{}/:item", n % 10),
            &base(),
        )
        .unwrap();
        subs.push(
            hub.subscribe(vec![m], Access::Public, Resume::Live)
                .await
                .unwrap(),
        );
    }
    assert_eq!(hub.stats().patterns, 10);
    hub.publish(Update::new("/feeds/3/x", "three"))
        .await
        .unwrap();
    for (n, sub) in subs.iter_mut().enumerate().filter(|(n, _)| n % 10 == 3) {
        assert_eq!(data(&read_n(sub, 1).await), ["three"], "subscriber {n}");
    }
    subs.clear();
    assert_eq!(
        hub.stats().patterns,
        0,
        "patterns go with their last subscriber"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_an_update_reaches_every_instance_once_and_a_subscriber_resumes_on_any() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let instance = || async {
        let backend = RedisBackend::builder(redis.url().as_str())
            .connect()
            .await
            .unwrap();
        TopicHub::builder(Hub::builder().build_with(backend), base()).build()
    };
    let a = instance().await;
    let b = instance().await;
    let selects = || vec![pattern("/books/:id")];
    let mut on_a = a
        .subscribe(selects(), Access::Public, Resume::Live)
        .await
        .unwrap();
    let mut on_b = b
        .subscribe(selects(), Access::Topics(vec![exact("*")]), Resume::Live)
        .await
        .unwrap();

    let first = a
        .publish(Update::new("/books/1", "one").id("urn:isbn:1"))
        .await
        .unwrap();
    b.publish(Update::new("/books/2", "two").private())
        .await
        .unwrap();
    a.publish(Update::new("/books/3", "three")).await.unwrap();
    assert_eq!(data(&read_n(&mut on_a, 2).await), ["one", "three"]);
    assert_eq!(data(&read_n(&mut on_b, 3).await), ["one", "two", "three"]);

    // A third instance, started later, reads the history and resumes a
    // subscriber after a publisher's id.
    let c = instance().await;
    let mut resumed = c
        .subscribe(selects(), Access::Public, Resume::After(&first))
        .await
        .unwrap();
    assert_eq!(resumed.last_event_id(), Some("urn:isbn:1"));
    assert_eq!(data(&read_n(&mut resumed, 1).await), ["three"]);
    b.publish(Update::new("/books/4", "four")).await.unwrap();
    assert_eq!(data(&read_n(&mut resumed, 1).await), ["four"]);
    assert_eq!(data(&read_n(&mut on_a, 1).await), ["four"]);
    assert_eq!(data(&read_n(&mut on_b, 1).await), ["four"]);
    for (publisher, n) in [(&a, 1), (&b, 2), (&c, 3)] {
        let marker = format!("marker {n}");
        publisher
            .publish(Update::new("/books/m", marker.as_str()))
            .await
            .unwrap();
        for sub in [&mut on_a, &mut on_b, &mut resumed] {
            assert_eq!(
                data(&read_n(sub, 1).await),
                [marker.as_str()],
                "each update once, in order"
            );
        }
    }
}
