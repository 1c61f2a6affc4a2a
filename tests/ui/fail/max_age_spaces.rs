use msal_runtime::msal_protected;

#[msal_protected(max_age = "1h 30m")]
async fn handler() {}

fn main() {}
