//! The demo in a real browser: headless Chromium through chromedriver (WebDriver, with
//! fantoccini), clicking what a person clicks. Needs Debian's `chromium` and
//! `chromium-driver`: under `CI` the test fails without them (`.ci/run` installs them);
//! elsewhere it skips, loudly.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use msal_runtime::testing::TestIdp;
use msal_tests::TestApp;

/// A chromedriver process, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn chromedriver() -> Option<Driver> {
    let missing = |what: &str| {
        if std::env::var_os("CI").is_some() {
            panic!(
                "{what} is missing and CI is set: .ci/run installs chromium and chromium-driver"
            );
        }
        eprintln!(
            "\n*** SKIPPING browser test: {what} is missing (apt-get install chromium chromium-driver) ***\n"
        );
        None::<Driver>
    };
    if !std::path::Path::new("/usr/bin/chromium").exists() {
        return missing("/usr/bin/chromium");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = match Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => return missing("chromedriver"),
    };
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start listening on {port}");
}

/// The demo with its docs, against `idp`.
async fn demo(idp: &TestIdp) -> TestApp {
    TestApp::start_with_msal(
        idp,
        |c| c,
        axum::Router::new(),
        |msal| msal_examples::demo::router(msal).merge(msal_examples::demo::docs(msal)),
    )
    .await
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

/// The page's text; empty while a navigation replaces the page under our feet.
async fn body_text(client: &Client) -> String {
    match client.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the page body contains `text` (pages load after a click).
async fn wait_for_text(client: &Client, text: &str) -> String {
    for _ in 0..50 {
        let body = body_text(client).await;
        if body.contains(text) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the page never showed {text:?}; it shows:\n{}",
        body_text(client).await
    );
}

async fn sign_in_as(client: &Client, app: &TestApp, name: &str) {
    client.goto(&app.url("/")).await.unwrap();
    wait_for_text(client, "Not signed in").await;
    client
        .find(Locator::LinkText("Sign in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // TestIdp's page lists the test users as buttons.
    let button = client
        .wait()
        .for_element(Locator::XPath(&format!("//button[contains(., '{name}')]")))
        .await
        .unwrap();
    button.click().await.unwrap();
    wait_for_text(client, &format!("Signed in as {name}")).await;
}

#[tokio::test]
async fn a_person_signs_in_is_refused_admin_signs_out_and_bob_gets_in() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let client = browser(&driver).await;

    sign_in_as(&client, &app, "Alice Example").await;
    assert_eq!(client.current_url().await.unwrap().as_str(), app.url("/"));

    client.goto(&app.url("/admin")).await.unwrap();
    let refused = wait_for_text(&client, "Forbidden").await;
    assert!(
        refused.contains("This needs the app role Admin."),
        "{refused}"
    );

    client.goto(&app.url("/")).await.unwrap();
    client
        .find(Locator::Css("form[action='/auth/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The provider signs out and sends the browser back to the app.
    wait_for_text(&client, "Not signed in").await;
    client.find(Locator::LinkText("Sign in")).await.unwrap();

    sign_in_as(&client, &app, "Bob Admin").await;
    client.goto(&app.url("/admin")).await.unwrap();
    wait_for_text(&client, "welcome, Bob Admin").await;

    client.close().await.unwrap();
}

/// The files behind `msal.require(msal_rule!())`: opening one signed out goes through the
/// provider's page and lands on the file; an admin who just signed in reads the audit log
/// (`max_age = "5m"`).
#[tokio::test]
async fn a_person_opening_a_file_signs_in_and_lands_on_it_and_an_admin_reads_the_audit_log() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let client = browser(&driver).await;

    client.goto(&app.url("/files/hello.txt")).await.unwrap();
    click(
        &client,
        Locator::XPath("//button[contains(., 'Bob Admin')]"),
    )
    .await;
    wait_for_text(&client, "Hello from the msal-axum demo").await;
    assert_eq!(
        client.current_url().await.unwrap().as_str(),
        app.url("/files/hello.txt")
    );
    client.goto(&app.url("/files/")).await.unwrap();
    wait_for_text(&client, "any signed-in user may read them").await;
    click(&client, Locator::LinkText("hello.txt")).await;
    wait_for_text(&client, "Hello from the msal-axum demo").await;

    client.goto(&app.url("/")).await.unwrap();
    click(&client, Locator::LinkText("Audit log")).await;
    let audit = wait_for_text(&client, "key.rotated").await;
    assert!(audit.contains("Bob Admin"), "{audit}");
    client.close().await.unwrap();
}

/// Waits for an element and clicks it.
async fn click(client: &Client, locator: Locator<'_>) {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(locator)
        .await
        .unwrap_or_else(|e| panic!("no {locator:?}: {e}"))
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn swagger_ui_signs_in_for_this_api_and_tries_a_protected_route() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let idp = TestIdp::start().await.unwrap();
    let app = demo(&idp).await;
    let client = browser(&driver).await;
    client.goto(&app.url("/docs/")).await.unwrap();
    let main = client.window().await.unwrap();

    // Authorize, with every scope the scheme lists selected.
    click(&client, Locator::Css("button.authorize")).await;
    let boxes = client
        .wait()
        .for_element(Locator::Css(".auth-container input[type='checkbox']"))
        .await
        .map(|_| ())
        .ok();
    assert!(boxes.is_some(), "the scheme lists this API's scope");
    let listed: Vec<String> = {
        let mut names = Vec::new();
        for label in client
            .find_all(Locator::Css(".auth-container .scopes label"))
            .await
            .unwrap()
        {
            names.push(label.text().await.unwrap_or_default());
        }
        names
    };
    assert!(
        listed.iter().all(|s| !s.contains("User.Read")),
        "only this API's scopes: {listed:?}"
    );
    for checkbox in client
        .find_all(Locator::Css(".auth-container input[type='checkbox']"))
        .await
        .unwrap()
    {
        if !checkbox.is_selected().await.unwrap() {
            // Swagger UI draws its own box over the input: click its label.
            let id = checkbox.attr("id").await.unwrap().unwrap_or_default();
            click(&client, Locator::Css(&format!("label[for='{id}']"))).await;
        }
    }
    click(&client, Locator::Css(".auth-btn-wrapper button.authorize")).await;

    // The sign-in opens in a popup: pick Alice on the provider's page.
    let mut popup = None;
    for _ in 0..50 {
        let windows = client.windows().await.unwrap();
        if let Some(w) = windows.into_iter().find(|w| *w != main) {
            popup = Some(w);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client
        .switch_to_window(popup.expect("Swagger UI opens its sign-in window"))
        .await
        .unwrap();
    click(
        &client,
        Locator::XPath("//button[contains(., 'Alice Example')]"),
    )
    .await;
    // The popup hands the code to Swagger UI and closes itself.
    for _ in 0..50 {
        if client.windows().await.unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.switch_to_window(main).await.unwrap();
    wait_for_text(&client, "Logout").await;
    click(&client, Locator::Css(".auth-btn-wrapper button.btn-done")).await;

    // Try it out: GET /me with the token Swagger now holds.
    click(&client, Locator::Css("[data-path='/me']")).await;
    click(&client, Locator::Css("button.try-out__btn")).await;
    click(&client, Locator::Css("button.execute")).await;
    let answered = wait_for_text(&client, "alice@contoso.test").await;
    assert!(answered.contains("Alice Example"), "{answered}");
    let status = client
        .wait()
        .for_element(Locator::Css(
            ".live-responses-table .response .response-col_status",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.starts_with("200"), "{status}");
    client.close().await.unwrap();
}

/// Entra's sign-in page is another site than the app: TestIdp on `localhost`, the app on
/// `127.0.0.1`, so Chromium applies its SameSite rules as it would with
/// `login.microsoftonline.com`. The answer comes back as a cross-site `form_post`; consent
/// grows one resource at a time without a second session; and an authentication context
/// (`/admin/keys`, `auth_context = "c1"`) sends Bob through sign-in again and in.
#[tokio::test]
async fn cross_site_form_post_sign_in_incremental_consent_and_an_auth_context() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let idp = TestIdp::builder().host("localhost").start().await.unwrap();
    assert!(
        idp.base_url().starts_with("http://localhost:"),
        "{}",
        idp.base_url()
    );
    let app = TestApp::start_with_msal(
        &idp,
        |c| c.response_mode(msal_runtime::config::ResponseMode::FormPost),
        axum::Router::new(),
        |msal| msal_examples::demo::router(msal).merge(msal_examples::demo::docs(msal)),
    )
    .await;
    assert!(app.base_url.starts_with("http://127.0.0.1:"));
    let client = browser(&driver).await;

    sign_in_as(&client, &app, "Alice Example").await;
    let first_session = session_cookie(&client).await;
    // Graph's User.Read was not asked for at sign-in: the first visit consents to it.
    client.goto(&app.url("/graph/me")).await.unwrap();
    wait_for_text(&client, "\"displayName\"").await;
    assert_eq!(
        client.current_url().await.unwrap().as_str(),
        app.url("/graph/me")
    );
    let consented = idp
        .consented_scopes(
            "alice@contoso.test",
            msal_runtime::testing::DEFAULT_CLIENT_ID,
        )
        .unwrap();
    assert!(
        consented
            .iter()
            .any(|s| s == "https://graph.microsoft.com/User.Read"),
        "{consented:?}"
    );
    // The same person, one session (its id cycled at the second sign-in, never doubled).
    client.goto(&app.url("/")).await.unwrap();
    wait_for_text(&client, "Signed in as Alice Example").await;
    let cookies = client.get_all_cookies().await.unwrap();
    let sessions: Vec<_> = cookies
        .iter()
        .filter(|c| c.name() == "msal_session")
        .collect();
    assert_eq!(sessions.len(), 1, "{cookies:?}");
    assert_ne!(
        sessions[0].value(),
        first_session,
        "the id cycled at sign-in"
    );
    // Graph still answers without another round trip through the provider.
    client.goto(&app.url("/graph/me")).await.unwrap();
    wait_for_text(&client, "Alice Example").await;

    // Bob: the admin page with an authentication context signs him in again, asking for c1.
    client.goto(&app.url("/")).await.unwrap();
    click(&client, Locator::Css("form[action='/auth/logout'] button")).await;
    wait_for_text(&client, "Not signed in").await;
    sign_in_as(&client, &app, "Bob Admin").await;
    client.goto(&app.url("/admin/keys")).await.unwrap();
    let keys = wait_for_text(&client, "signing-2026").await;
    assert!(keys.contains("Bob Admin"), "{keys}");
    client.close().await.unwrap();
}

/// The app's session cookie as the browser holds it.
async fn session_cookie(client: &Client) -> String {
    client
        .get_named_cookie("msal_session")
        .await
        .map(|c| c.value().to_owned())
        .unwrap_or_default()
}
