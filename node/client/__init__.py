"""The Python client SDK: an async ``Client`` that does all the cryptography.

    client = await Client.login("https://shop.example", "anna", "password",
                                store="anna.kontor", passphrase="...")
    await client.send_text("bob@other.example", "Hello!")
    async for message in client.messages():
        print(message.sender, message.content)
"""
