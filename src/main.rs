fn main() {
    eprintln!("oftsniff: not built yet");
    std::process::exit(2);
}
