use msal_runtime::msal_protected;

#[msal_protected(roles = "Admin" groups = "g")]
async fn handler() {}

fn main() {}
