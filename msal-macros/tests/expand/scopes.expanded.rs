async fn h(_: ::msal_runtime::__private::Guard<2079111293928628215>) {
    #[::msal_runtime::__private::linkme::distributed_slice(
        ::msal_runtime::__private::PROTECTED
    )]
    #[linkme(crate = ::msal_runtime::__private::linkme)]
    static __MSAL_PROTECTED: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
        id: 2079111293928628215,
        rule: ::msal_runtime::__private::Rule::Scopes(&["User.Read", "Mail.Read"]),
        on_denied: ::core::option::Option::None,
        handler: "h",
        module: ::core::module_path!(),
    };
}
