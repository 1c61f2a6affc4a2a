use msal_runtime::msal_protected;

#[msal_protected(checks = owns)]
async fn handler() {}

#[msal_protected(chek = owns)]
async fn chek() {}

fn main() {}
