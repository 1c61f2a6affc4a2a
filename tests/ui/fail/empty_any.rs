use msal_runtime::msal_protected;

#[msal_protected(any())]
async fn handler() {}

fn main() {}
