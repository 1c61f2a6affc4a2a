/// Docs stay.
#[allow(unused)]
async fn h<T>(
    _: ::msal_runtime::__private::Guard<17044309808577992198>,
    Path(id): Path<u32>,
) -> String
where
    T: Default + ToString,
{
    #[::msal_runtime::__private::linkme::distributed_slice(
        ::msal_runtime::__private::PROTECTED
    )]
    #[linkme(crate = ::msal_runtime::__private::linkme)]
    static __MSAL_PROTECTED: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
        id: 17044309808577992198,
        rule: ::msal_runtime::__private::Rule::Roles(&["Admin"]),
        on_denied: ::core::option::Option::None,
        handler: "h",
        module: ::core::module_path!(),
    };
    T::default().to_string()
}
