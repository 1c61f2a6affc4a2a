use msal_runtime::msal_protected;

#[msal_protected(any = "Admin")]
async fn handler() {}

fn main() {}
