use msal_runtime::msal_protected;

#[msal_protected(check = 5)]
async fn handler() {}

fn main() {}
