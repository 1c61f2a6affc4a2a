//! The scope matcher over a table: which resource a scope names, and what covers what.

use super::*;

fn api() -> Vec<String> {
    vec![
        "11111111-2222-4333-8444-555555555555".to_owned(),
        "api://11111111-2222-4333-8444-555555555555".to_owned(),
    ]
}

/// (granted, wanted, reading, covered?)
#[test]
fn coverage_is_decided_per_resource() {
    use Unprefixed::{Graph as G, ThisApi as A};
    let me = "api://11111111-2222-4333-8444-555555555555";
    let cases: &[(&[&str], &[&str], Unprefixed, bool)] = &[
        // Equal scopes cover each other.
        (&["User.Read"], &["User.Read"], G, true),
        (&["Tasks.Read"], &["Tasks.Read"], A, true),
        (
            &["api://orders/Orders.Read"],
            &["api://orders/Orders.Read"],
            G,
            true,
        ),
        // Graph's three spellings are one resource.
        (
            &["User.Read"],
            &["https://graph.microsoft.com/User.Read"],
            G,
            true,
        ),
        (
            &["https://graph.microsoft.com/User.Read"],
            &["User.Read"],
            G,
            true,
        ),
        (
            &["00000003-0000-0000-c000-000000000000/User.Read"],
            &["User.Read"],
            G,
            true,
        ),
        (
            &["User.Read"],
            &["HTTPS://GRAPH.MICROSOFT.COM/User.Read"],
            G,
            true,
        ),
        // The case: a Graph token never serves another API's scope of the same
        // name, in either direction.
        (&["User.Read"], &["api://orders/User.Read"], G, false),
        (&["api://orders/User.Read"], &["User.Read"], G, false),
        // Two other APIs are two resources.
        (&["api://orders/Read"], &["api://billing/Read"], G, false),
        // In a bearer rule, unprefixed is this API's own scope...
        (&["Tasks.Read"], &[&format!("{me}/Tasks.Read")], A, true),
        (&[&format!("{me}/Tasks.Read")], &["Tasks.Read"], A, true),
        (
            &["Tasks.Read"],
            &["11111111-2222-4333-8444-555555555555/Tasks.Read"],
            A,
            true,
        ),
        // ... and never Graph's or another API's.
        (
            &["User.Read"],
            &["https://graph.microsoft.com/User.Read"],
            A,
            false,
        ),
        (&["Orders.Read"], &["api://orders/Orders.Read"], A, false),
        // In a token request, unprefixed is Graph's, not this API's.
        (&["Tasks.Read"], &[&format!("{me}/Tasks.Read")], G, false),
        (
            &[&format!("{me}/Tasks.Read")],
            &[&format!("{me}/Tasks.Read")],
            G,
            true,
        ),
        // A trailing slash on the resource does not make it another one.
        (&["api://orders/Read"], &["api://orders//Read"], G, true),
        // Names are compared exactly; nothing is implied.
        (&["User.Read"], &["user.read"], G, false),
        (&["User.ReadWrite"], &["User.Read"], G, false),
        (&["Mail.Read"], &["User.Read"], G, false),
        (&[], &["User.Read"], G, false),
        // OpenID scopes belong to no resource and match only themselves.
        (&["openid", "profile"], &["openid"], G, true),
        (
            &["openid"],
            &["https://graph.microsoft.com/openid"],
            G,
            false,
        ),
        // Every wanted scope must be held.
        (
            &["User.Read", "Mail.Read"],
            &["User.Read", "Mail.Read"],
            G,
            true,
        ),
        (&["User.Read"], &["User.Read", "Mail.Read"], G, false),
        // Nothing wanted is covered by anything.
        (&[], &[], G, true),
    ];
    let names = api();
    for (granted, wanted, unprefixed, expected) in cases {
        let reading = Reading {
            unprefixed: *unprefixed,
            this_api: &names,
        };
        assert_eq!(
            reading.covers(granted, wanted),
            *expected,
            "granted {granted:?}, wanted {wanted:?}, unprefixed {unprefixed:?}"
        );
    }
}

#[test]
fn a_token_request_names_one_resource() {
    let names = api();
    let reading = Reading::token_request(&names);
    assert_eq!(
        reading.single_resource(&["User.Read", "Mail.Read", "openid"]),
        Ok(Some(Resource::Graph))
    );
    assert_eq!(
        reading.single_resource(&["https://graph.microsoft.com/User.Read", "Mail.Read"]),
        Ok(Some(Resource::Graph))
    );
    assert_eq!(
        reading.single_resource(&["api://a/Read", "api://a/Write"]),
        Ok(Some(Resource::Other("api://a")))
    );
    assert_eq!(
        reading.single_resource(&["User.Read", "api://a/Read"]),
        Err(("User.Read", "api://a/Read"))
    );
    assert_eq!(reading.single_resource(&["openid"]), Ok(None));
}
