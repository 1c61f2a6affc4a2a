use msal_runtime::msal_protected;

#[msal_protected(max_age = "366d")]
async fn handler() {}

fn main() {}
