use msal_runtime::msal_protected;

#[msal_protected(not())]
async fn handler() {}

fn main() {}
