fn router() {
    let protection = {
        #[::msal_runtime::__private::linkme::distributed_slice(
            ::msal_runtime::__private::PROTECTED
        )]
        #[linkme(crate = ::msal_runtime::__private::linkme)]
        static __MSAL_RULE: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
            id: 7985841140407068960,
            rule: ::msal_runtime::__private::Rule::Authenticated,
            on_denied: ::core::option::Option::None,
            handler: "",
            module: ::core::module_path!(),
        };
        ::msal_runtime::__private::Protection::new(&__MSAL_RULE)
    };
}
