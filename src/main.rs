fn main() -> std::process::ExitCode {
    elicence::cli::run()
}
