use msal_runtime::msal_protected;

// A token has one `acr`: no level is in both lists.
#[msal_protected(acr = "urn:a", all(roles = "Admin", acr = "urn:b"))]
async fn handler() {}

// Alternatives are fine, and so is an overlap.
#[msal_protected(any(acr = "urn:a", all(acr = "urn:b")), all(acr = ["urn:c", "urn:d"], all(acr = ["urn:d"])))]
async fn fine() {}

fn main() {}
