use msal_runtime::msal_protected;

#[msal_protected(max_age = "10min")]
async fn handler() {}

#[msal_protected(max_age = "5x")]
async fn unknown() {}

#[msal_protected(max_age = "2w")]
async fn weeks() {}

fn main() {}
