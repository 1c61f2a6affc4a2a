use msal_runtime::msal_protected;

#[msal_protected(roles("Admin"))]
async fn handler() {}

fn main() {}
