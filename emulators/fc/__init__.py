"""Parts of the Function Compute 3.0 stand-in (`emulators.fc_server`) that are not its HTTP serving."""
