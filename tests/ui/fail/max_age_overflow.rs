use msal_runtime::msal_protected;

#[msal_protected(max_age = "99999999999999999999d")]
async fn handler() {}

fn main() {}
