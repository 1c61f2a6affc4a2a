async fn me(
    _: ::msal_runtime::__private::Guard<17727058681535198367>,
    user: User,
) -> Json<User> {
    #[::msal_runtime::__private::linkme::distributed_slice(
        ::msal_runtime::__private::PROTECTED
    )]
    #[linkme(crate = ::msal_runtime::__private::linkme)]
    static __MSAL_PROTECTED: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
        id: 17727058681535198367,
        rule: ::msal_runtime::__private::Rule::Authenticated,
        on_denied: ::core::option::Option::None,
        handler: "me",
        module: ::core::module_path!(),
    };
    Json(user)
}
