async fn h(_: ::msal_runtime::__private::Guard<6574606033861792721>) {
    #[::msal_runtime::__private::linkme::distributed_slice(
        ::msal_runtime::__private::PROTECTED
    )]
    #[linkme(crate = ::msal_runtime::__private::linkme)]
    static __MSAL_PROTECTED: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
        id: 6574606033861792721,
        rule: ::msal_runtime::__private::Rule::All(
            &[
                ::msal_runtime::__private::Rule::Roles(&["Admin"]),
                ::msal_runtime::__private::Rule::Acr(&["phr", "phrh"]),
            ],
        ),
        on_denied: ::core::option::Option::None,
        handler: "h",
        module: ::core::module_path!(),
    };
}
