use msal_runtime::msal_protected;

#[msal_protected(all())]
async fn handler() {}

fn main() {}
