async fn h(_: ::msal_runtime::__private::Guard<15948283381520662885>) {
    #[::msal_runtime::__private::linkme::distributed_slice(
        ::msal_runtime::__private::PROTECTED
    )]
    #[linkme(crate = ::msal_runtime::__private::linkme)]
    static __MSAL_PROTECTED: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
        id: 15948283381520662885,
        rule: ::msal_runtime::__private::Rule::All(
            &[
                ::msal_runtime::__private::Rule::Roles(&["Admin"]),
                ::msal_runtime::__private::Rule::Groups(&["g-1"]),
                ::msal_runtime::__private::Rule::AppPermissions(&["Tasks.Read.All"]),
                ::msal_runtime::__private::Rule::Tenants(
                    &["c0ffee00-0000-4000-8000-00000000c0de"],
                ),
            ],
        ),
        on_denied: ::core::option::Option::None,
        handler: "h",
        module: ::core::module_path!(),
    };
}
