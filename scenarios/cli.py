def main():
    print("lossparity")
