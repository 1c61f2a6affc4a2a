use msal_runtime::msal_protected;

#[msal_protected(max_age = "30m1h")]
async fn handler() {}

#[msal_protected(max_age = "5m5m")]
async fn twice() {}

fn main() {}
