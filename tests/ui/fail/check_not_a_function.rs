use msal_runtime::msal_protected;

struct Owns;

const OWNER: &str = "owner";

#[msal_protected(check = Owns)]
async fn handler() {}

#[msal_protected(check = OWNER)]
async fn constant() {}

#[msal_protected(check = missing::owns)]
async fn missing() {}

fn main() {}
