use msal_runtime::msal_protected;

#[msal_protected(check =)]
async fn handler() {}

fn main() {}
