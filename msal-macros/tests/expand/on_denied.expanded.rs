pub(crate) async fn h(
    _: ::my_msal::__private::Guard<4104355264888911091>,
    State(s): State<AppState>,
) -> impl IntoResponse {
    #[::my_msal::__private::linkme::distributed_slice(::my_msal::__private::PROTECTED)]
    #[linkme(crate = ::my_msal::__private::linkme)]
    static __MSAL_PROTECTED: ::my_msal::__private::Protected = ::my_msal::__private::Protected {
        id: 4104355264888911091,
        rule: ::my_msal::__private::Rule::Roles(&["Admin"]),
        on_denied: ::core::option::Option::Some({
            fn __msal_on_denied(
                rejection: ::my_msal::__private::AuthRejection,
            ) -> ::my_msal::__private::Response {
                ::my_msal::__private::IntoResponse::into_response(
                    responses::denied(rejection),
                )
            }
            __msal_on_denied
        }),
        handler: "h",
        module: ::core::module_path!(),
    };
    s.0
}
