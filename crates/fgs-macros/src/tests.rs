//! Snapshots of what each supported form expands to (review with `cargo insta review`).

use proc_macro2::TokenStream;
use quote::quote;

fn pretty(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => panic!("the expansion is not valid Rust ({error}):\n{tokens}"),
    }
}

#[test]
fn pinned_urn() {
    let expanded = crate::expand::function(
        quote!(
            urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:hello:latest",
            log
        ),
        quote! {
            /// Says hello.
            pub async fn hello(client: &fgs::Client, input: HelloIn) -> Result<HelloOut, fgs::Error>;
        },
    );
    insta::assert_snapshot!(pretty(expanded));
}

#[test]
fn function_with_alias_and_options() {
    let expanded = crate::expand::function(
        quote!(
            function = "default/hello",
            alias = "prod",
            response_version = "v1",
            memory = 512,
            timeout = "30s",
            idempotent
        ),
        quote! {
            async fn hello(client: &fgs::Client, input: HelloIn) -> Result<HelloOut, MyError>;
        },
    );
    insta::assert_snapshot!(pretty(expanded));
}

#[test]
fn raw_output_without_input() {
    let expanded = crate::expand::function(
        quote!(
            function = "default/report",
            version = "v20240101-000000",
            output = "raw"
        ),
        quote! {
            async fn report(client: &fgs::Client) -> Result<fgs::InvokeOutput, fgs::Error>;
        },
    );
    insta::assert_snapshot!(pretty(expanded));
}

#[test]
fn api_gateway_output_with_crate_override() {
    let expanded = crate::expand::function(
        quote!(function = "web/site", output = "api_gateway", crate = "my_sdk::fgs"),
        quote! {
            async fn site(client: &my_sdk::fgs::Client, request: Request) -> Result<Page, my_sdk::fgs::Error>;
        },
    );
    insta::assert_snapshot!(pretty(expanded));
}

#[test]
fn trait_form() {
    let expanded = crate::expand::functions(
        TokenStream::new(),
        quote! {
            /// The greeting functions.
            pub trait Greetings {
                /// Says hello.
                #[function(function = "default/hello", log)]
                async fn hello(&self, input: HelloIn) -> Result<HelloOut, fgs::Error>;

                /// Says goodbye.
                #[function(urn = "urn:fss:cn-north-4:0123456789abcdef0123456789abcdef:function:default:bye")]
                async fn bye(&self) -> Result<(), fgs::Error>;
            }
        },
    );
    insta::assert_snapshot!(pretty(expanded));
}

/// On errors: every error, and the item in a form that compiles, nothing else.
#[test]
fn errors_are_collected_and_the_item_kept() {
    let expanded = crate::expand::function(
        quote!(
            urn = "urn:fss:cn-north-4:p:function:default:9hello",
            colour = "red",
            timeout = "soon"
        ),
        quote! {
            /// Says hello.
            async fn hello(client: &fgs::Client, input: HelloIn) -> Result<HelloOut, fgs::Error>;
        },
    );
    let text = expanded.to_string();
    assert_eq!(text.matches("compile_error").count(), 3, "{text}");
    assert!(
        text.contains("function name \\\"9hello\\\" must start with a letter"),
        "{text}"
    );
    assert!(text.contains("unknown option `colour`"), "{text}");
    assert!(text.contains("invalid timeout \\\"soon\\\""), "{text}");
    insta::assert_snapshot!(pretty(expanded));
}

/// On errors in the trait form: every error, and still the whole interface (the trait with
/// async-trait, `{Trait}Client` and its impl), the method with errors given a body that
/// panics, so code using the trait or the client sees nothing else.
#[test]
fn trait_errors_keep_the_client() {
    let expanded = crate::expand::functions(
        TokenStream::new(),
        quote! {
            pub trait Greetings {
                #[function(function = "default/9hello")]
                async fn hello(&self, input: HelloIn) -> Result<HelloOut, fgs::Error>;

                #[function(function = "default/bye")]
                async fn bye(&self) -> Result<(), fgs::Error>;
            }
        },
    );
    let text = expanded.to_string();
    assert_eq!(text.matches("compile_error").count(), 1, "{text}");
    assert!(text.contains("struct GreetingsClient"), "{text}");
    assert!(text.contains("impl Greetings for GreetingsClient"), "{text}");
    insta::assert_snapshot!(pretty(expanded));
}

/// Only `&self` (with or without a lifetime) is a function method's receiver; syn 3 models
/// receivers as a kind, so each other form is checked to be refused.
#[test]
fn only_a_shared_reference_receiver_is_accepted() {
    let expand = |receiver: TokenStream| {
        crate::expand::functions(
            TokenStream::new(),
            quote! {
                pub trait Greetings {
                    #[function(function = "default/hello")]
                    async fn hello(#receiver, input: HelloIn) -> Result<HelloOut, fgs::Error>;
                }
            },
        )
        .to_string()
    };
    let refused = "wrong receiver: a function method takes `&self`";
    for accepted in [quote!(&self), quote!(&'a self)] {
        let expanded = expand(accepted.clone());
        assert!(!expanded.contains(refused), "{accepted} was refused: {expanded}");
    }
    for wrong in [
        quote!(self),
        quote!(mut self),
        quote!(&mut self),
        quote!(&'a mut self),
        quote!(self: &Self),
        quote!(self: Box<Self>),
    ] {
        let expanded = expand(wrong.clone());
        assert!(expanded.contains(refused), "{wrong} was accepted: {expanded}");
    }
}
