use msal_runtime::msal_protected;

struct Api;

impl Api {
    #[msal_protected]
    async fn handler(&self) {}
}

fn main() {}
