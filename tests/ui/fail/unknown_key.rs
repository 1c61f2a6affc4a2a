use msal_runtime::msal_protected;

#[msal_protected(colour = "red")]
async fn handler() {}

fn main() {}
