use msal_runtime::msal_protected;

// Most tokens carry no `acr`: each of these would let them in.
#[msal_protected(not(acr = "urn:low"))]
async fn handler() {}

#[msal_protected(roles = "Admin", not(any(acr = "urn:low", groups = "00000000-0000-4000-8000-000000000001")))]
async fn nested() {}

fn main() {}
