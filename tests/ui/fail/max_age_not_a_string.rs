use msal_runtime::msal_protected;

#[msal_protected(max_age = 600)]
async fn handler() {}

#[msal_protected(max_age = ten_minutes)]
async fn ident() {}

fn main() {}
