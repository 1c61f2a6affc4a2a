use msal_runtime::msal_protected;

#[msal_protected(check = "owns")]
async fn handler() {}

fn main() {}
