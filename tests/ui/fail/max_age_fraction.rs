use msal_runtime::msal_protected;

#[msal_protected(max_age = "1.5h")]
async fn handler() {}

fn main() {}
