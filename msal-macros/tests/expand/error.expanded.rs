::core::compile_error! {
    "unknown key `scope`; did you mean `scopes`?"
}
::core::compile_error! {
    "empty `roles`: name at least one, or remove `roles`"
}
async fn h() {}
