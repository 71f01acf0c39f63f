export default function Home() {
  return <main>VIVR</main>;
}
